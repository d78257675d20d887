"""What a job's files become: the job folder and bundle (`bundle`), a notebook read as a job
(`notebooks`), Beam pipeline options (`etl`), and the standalone runner copied into each bundle."""
