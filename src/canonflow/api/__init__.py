"""HTTP plumbing shared by every feature's router: dependencies and pagination."""
