CREATE TABLE `tracing_settings` (
	`org_id` text PRIMARY KEY NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`endpoint` text NOT NULL,
	`sample_rate` real DEFAULT 1 NOT NULL,
	`header_names` text DEFAULT '[]' NOT NULL,
	`headers_ciphertext` text,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
