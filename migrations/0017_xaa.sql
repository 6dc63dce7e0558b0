CREATE TABLE `xaa_issuers` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`issuer` text NOT NULL,
	`jwks_uri` text NOT NULL,
	`algorithms` text DEFAULT '["RS256"]' NOT NULL,
	`clients` text DEFAULT '[]' NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `xaa_issuers_org_issuer` ON `xaa_issuers` (`org_id`,`issuer`);--> statement-breakpoint
CREATE INDEX `xaa_issuers_issuer` ON `xaa_issuers` (`issuer`);--> statement-breakpoint
CREATE TABLE `xaa_revocations` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`issuer` text NOT NULL,
	`kind` text NOT NULL,
	`value` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `xaa_revocations_unique` ON `xaa_revocations` (`org_id`,`issuer`,`kind`,`value`);