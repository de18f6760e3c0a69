"""Triggers: schedules (cron and dates), backfills, flow triggers and webhooks."""
