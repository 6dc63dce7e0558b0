ALTER TABLE `connections` ADD `policy_pruned_below` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- Existing tombstones (0022, 0023) brought under the bounds that writes now keep
-- (policy.retention.ts, prompts.retention.ts, scans.retention.ts: 200 versions or scans keep their
-- content, the 200 pruned before them their tombstone). The watermark first: every version up to
-- the highest pruned one was pruned (or has no hash and keeps its row).
UPDATE `connections` SET `policy_pruned_below` = 1 + (
  SELECT max(`version`) FROM `policies` WHERE `connection_id` = `connections`.`id` AND `pruned_at` IS NOT NULL
) WHERE EXISTS (SELECT 1 FROM `policies` WHERE `connection_id` = `connections`.`id` AND `pruned_at` IS NOT NULL);--> statement-breakpoint
DELETE FROM `policies` WHERE `pruned_at` IS NOT NULL
  AND `version` <= (SELECT max(p.`version`) FROM `policies` p WHERE p.`connection_id` = `policies`.`connection_id`) - 400;--> statement-breakpoint
DELETE FROM `system_prompt_versions` WHERE `text` = ''
  AND `version` <= (SELECT p.`version` FROM `system_prompts` p WHERE p.`id` = `system_prompt_versions`.`prompt_id`) - 400;--> statement-breakpoint
DELETE FROM `scans` WHERE `id` IN (
  SELECT `id` FROM (
    SELECT `id`, row_number() OVER (PARTITION BY `org_id`, `connection_id` ORDER BY `created_at` DESC, `id` DESC) AS n
    FROM `scans` WHERE `pruned_at` IS NOT NULL
  ) WHERE n > 200
);
