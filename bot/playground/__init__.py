"""The playground: the real bot against an embedded Bot API server, with a web page of chats."""
