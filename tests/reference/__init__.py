"""Reference versions of production code paths: the plain code a fast or compiled path
must equal. Only tests use them; production has one path each."""
