ALTER TABLE `policies` ADD `rules_sha256` text;--> statement-breakpoint
ALTER TABLE `policies` ADD `pruned_at` integer;