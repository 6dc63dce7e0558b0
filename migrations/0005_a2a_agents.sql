CREATE TABLE `a2a_agent_cards` (
	`connection_id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`card_url` text,
	`card` text NOT NULL,
	`card_hash` text NOT NULL,
	`fetched_at` integer NOT NULL,
	FOREIGN KEY (`connection_id`) REFERENCES `connections`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`org_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `a2a_agent_cards_org` ON `a2a_agent_cards` (`org_id`);