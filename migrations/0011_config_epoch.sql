CREATE TABLE `approvals` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`connection_id` text NOT NULL,
	`connection_slug` text NOT NULL,
	`protocol` text NOT NULL,
	`api_key_id` text,
	`user_id` text,
	`caller` text,
	`tool` text NOT NULL,
	`args_hash` text NOT NULL,
	`binding` text NOT NULL,
	`args` text,
	`rule_index` integer,
	`reason` text,
	`status` text DEFAULT 'pending' NOT NULL,
	`trace_id` text,
	`requested_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`decided_by` text,
	`decided_at` integer,
	`comment` text,
	`used_at` integer,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`connection_id`) REFERENCES `connections`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `approvals_pending_binding` ON `approvals` (`org_id`,`binding`) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX `approvals_org_binding` ON `approvals` (`org_id`,`binding`,`status`);--> statement-breakpoint
CREATE INDEX `approvals_org_requested` ON `approvals` (`org_id`,`requested_at`);--> statement-breakpoint
ALTER TABLE `organizations` ADD `config_epoch` integer DEFAULT 0 NOT NULL;