"""The tenant's Git repository: configuration, repo sync (Git → canonical), writing back."""
