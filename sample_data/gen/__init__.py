"""Building blocks for the sample-bundle generator: certificates, packets, HAR, NetLog, logs."""
