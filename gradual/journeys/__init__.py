"""Journeys: what makes YAML requests behave like users (templates, data rows, checks, extraction)."""
