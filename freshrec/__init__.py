"""freshrec's public extras for users' own code; the system itself lives in the packages beside this one."""
