"""UI views: each module one page (or a few close ones); they parse, call a service, render."""
