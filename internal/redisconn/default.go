package redisconn

import "github.com/sabe-dev/sabe/internal/envconf"

// DefaultURL is Redis on this machine, database 0.
const DefaultURL = "redis://127.0.0.1:6379/0"

// URL is SABE_REDIS_URL, the Redis connection of every process.
var URL = envconf.String{Name: "SABE_REDIS_URL", Default: DefaultURL}
