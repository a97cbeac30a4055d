"""Environment sync (n8n → database), DESIGN section 6."""
