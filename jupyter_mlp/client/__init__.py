"""Everything outside the server that talks to it: the one client (`connection`), finding the
server (`discovery`), a job as Python sees it (`handle`), `%mlp_train` (`magics`), `jupyter mlp`
(`cli`), and the submit options they share (`submit_options`)."""
