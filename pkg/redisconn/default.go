package redisconn

// DefaultURL is Redis on this machine, database 0.
const DefaultURL = "redis://127.0.0.1:6379/0"
