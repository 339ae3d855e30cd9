"""What a message is, before any network call: numbers, text encoding and parts, 8-bit
content, the sendmsg options, and scheduling."""
