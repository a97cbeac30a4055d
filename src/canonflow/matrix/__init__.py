"""The workflows-by-environments matrix (DESIGN §6): pages, summary, export."""
