CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`fingerprint` text NOT NULL,
	`type` text NOT NULL,
	`severity` text NOT NULL,
	`title` text NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`connection_id` text,
	`assignee` text,
	`comment` text,
	`count` integer DEFAULT 1 NOT NULL,
	`details` text,
	`first_seen_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alerts_active_fingerprint` ON `alerts` (`org_id`,`fingerprint`) WHERE status IN ('open', 'acknowledged');--> statement-breakpoint
CREATE INDEX `alerts_org_seen` ON `alerts` (`org_id`,`last_seen_at`);