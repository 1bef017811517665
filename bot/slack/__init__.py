"""Slack: Bolt listeners that translate Slack requests into domain calls, and Block Kit builders."""
