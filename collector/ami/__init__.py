"""The AMI shell: the connection to Asterisk's Manager Interface, and the frames it reads."""
