CREATE TABLE `llm_prices` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`provider` text NOT NULL,
	`model` text NOT NULL,
	`input_per_mtok` real NOT NULL,
	`cached_input_per_mtok` real,
	`output_per_mtok` real NOT NULL,
	`updated_by` text,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `llm_prices_org_model` ON `llm_prices` (`org_id`,`provider`,`model`);--> statement-breakpoint
ALTER TABLE `audit_events` ADD `model` text;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `input_tokens` integer;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `cached_input_tokens` integer;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `output_tokens` integer;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `reasoning_tokens` integer;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `cost_usd` real;