"""Pages of the stories app: one module each for the backlog, planning, the board and sprints."""
