"""Organisation: operations centres, departments, users, roles, API clients and the
responsibility matrix."""
