"""queuepulse's collector: from the AMI stream to stored call and agent facts."""
