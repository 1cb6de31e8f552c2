"""Packet captures: a bulk walk of pcap/pcapng into columns, deep dissection of the few."""
