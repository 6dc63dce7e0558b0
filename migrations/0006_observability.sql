CREATE TABLE `audit_chain` (
	`chain` text NOT NULL,
	`seq` integer NOT NULL,
	`org_id` text,
	`event_id` text NOT NULL,
	`row_hash` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`chain`, `seq`)
);
--> statement-breakpoint
CREATE INDEX `audit_chain_org` ON `audit_chain` (`org_id`,`chain`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_chain_event` ON `audit_chain` (`event_id`);--> statement-breakpoint
CREATE TABLE `metrics_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`prefix` text NOT NULL,
	`hash` text NOT NULL,
	`created_by` text,
	`revoked_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `metrics_tokens_hash_unique` ON `metrics_tokens` (`hash`);--> statement-breakpoint
CREATE INDEX `metrics_tokens_org` ON `metrics_tokens` (`org_id`);