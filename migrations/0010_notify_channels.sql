CREATE TABLE `a2a_task_events` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`connection_id` text NOT NULL,
	`task_id` text NOT NULL,
	`kind` text NOT NULL,
	`state` text,
	`trace_id` text,
	`method` text,
	`detail` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`connection_id`) REFERENCES `connections`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `a2a_task_events_task` ON `a2a_task_events` (`connection_id`,`task_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `a2a_tasks` (
	`org_id` text NOT NULL,
	`connection_id` text NOT NULL,
	`task_id` text NOT NULL,
	`context_id` text,
	`state` text NOT NULL,
	`skill` text,
	`api_key_id` text,
	`user` text,
	`first_trace_id` text,
	`last_trace_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`connection_id`, `task_id`),
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`connection_id`) REFERENCES `connections`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `a2a_tasks_org_updated` ON `a2a_tasks` (`org_id`,`connection_id`,`updated_at`);--> statement-breakpoint
CREATE TABLE `notify_channels` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`format` text,
	`display_url` text NOT NULL,
	`secret_ciphertext` text NOT NULL,
	`min_severity` text DEFAULT 'info' NOT NULL,
	`event_types` text,
	`enabled` integer DEFAULT 1 NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `notify_channels_org` ON `notify_channels` (`org_id`);--> statement-breakpoint
CREATE TABLE `notify_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`event_type` text NOT NULL,
	`alert_id` text,
	`payload` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer NOT NULL,
	`delivered_at` integer,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`channel_id`) REFERENCES `notify_channels`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `notify_deliveries_org_status` ON `notify_deliveries` (`org_id`,`status`,`created_at`);