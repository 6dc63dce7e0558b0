CREATE TABLE `tool_inventory` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`connection_id` text NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`fingerprint` text,
	`version` integer NOT NULL,
	`definition` text,
	`removed` integer DEFAULT false NOT NULL,
	`quarantined` integer DEFAULT false NOT NULL,
	`quarantine_reason` text,
	`approved_fingerprint` text,
	`approved_by` text,
	`approved_at` integer,
	`findings` text,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`connection_id`) REFERENCES `connections`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tool_inventory_item` ON `tool_inventory` (`connection_id`,`kind`,`name`);--> statement-breakpoint
CREATE INDEX `tool_inventory_org` ON `tool_inventory` (`org_id`,`connection_id`);--> statement-breakpoint
CREATE TABLE `tool_versions` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`connection_id` text NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`version` integer NOT NULL,
	`fingerprint` text,
	`definition` text,
	`severity` text NOT NULL,
	`changes` text NOT NULL,
	`seen_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`connection_id`) REFERENCES `connections`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tool_versions_item_version` ON `tool_versions` (`connection_id`,`kind`,`name`,`version`);--> statement-breakpoint
CREATE INDEX `tool_versions_org` ON `tool_versions` (`org_id`,`connection_id`,`seen_at`);