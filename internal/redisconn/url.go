package redisconn

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// The URL schemes of SABE_REDIS_URL beyond go-redis's redis:// and
// rediss://, which keep go-redis's meaning.
const (
	// SchemeSentinel names a master through its sentinels, in asynq's
	// form: redis-sentinel://[[user]:password@]host:port[,host:port...][/master]?master=NAME[&db=N].
	SchemeSentinel = "redis-sentinel"
	// SchemeCluster names a Redis Cluster by some of its nodes:
	// redis-cluster://[[user]:password@]host:port[,host:port...].
	SchemeCluster = "redis-cluster"
)

// Kind is the shape of Redis deployment a URL names.
type Kind int

// The kinds of deployment.
const (
	// Standalone is one server (redis://, rediss://).
	Standalone Kind = iota
	// Sentinel is a master with replicas, watched by sentinels that
	// promote a replica when the master fails.
	Sentinel
	// Cluster is a Redis Cluster: keys spread over hash slots owned by
	// several masters.
	Cluster
)

// Conn is a parsed SABE_REDIS_URL: enough to build SABE's own client and
// the connection options asynq wants for the connections it opens itself
// (the scheduler's, asynqmon's), both from the one URL.
type Conn struct {
	kind     Kind
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// errInvalid hides the URL: it may hold a password.
var errInvalid = errors.New("parse redis url: invalid URL")

// Parse reads a redis://, rediss://, redis-sentinel:// or redis-cluster://
// URL. Its errors never repeat the URL, which may hold a password.
//
// In a redis-sentinel:// URL the user and password authenticate to the
// master and replicas, where the data is; sentinels that want a password
// of their own get it in sentinel_password (and sentinel_username).
// asynq's own parser reads the URL's password as the sentinels', so a
// URL written for asynq with a password means something else here (the
// URL's shape is the same; without a password the two read it alike).
func Parse(raw string) (*Conn, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errInvalid
	}
	switch u.Scheme {
	case SchemeSentinel:
		return parseSentinel(u)
	case SchemeCluster:
		return parseCluster(u)
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, errInvalid
	}
	return &Conn{kind: Standalone, single: opts}, nil
}

// hosts splits the URL's comma-separated host:port list.
func hosts(u *url.URL, defaultPort string) ([]string, error) {
	var out []string
	for _, h := range strings.Split(u.Host, ",") {
		if h == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(h, defaultPort)
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("parse redis url: %s:// needs at least one host:port", u.Scheme)
	}
	return out, nil
}

// checkQuery refuses query parameters other than allowed, so a misspelt
// one is not silently ignored.
func checkQuery(u *url.URL, allowed ...string) error {
	for k := range u.Query() {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return fmt.Errorf("parse redis url: %s:// takes no parameter %q", u.Scheme, k)
		}
	}
	return nil
}

func parseSentinel(u *url.URL) (*Conn, error) {
	if err := checkQuery(u, "master", "db", "sentinel_username", "sentinel_password"); err != nil {
		return nil, err
	}
	addrs, err := hosts(u, "26379")
	if err != nil {
		return nil, err
	}
	q := u.Query()
	master := q.Get("master")
	if p := strings.Trim(u.Path, "/"); p != "" {
		if master != "" && master != p {
			return nil, fmt.Errorf("parse redis url: master named twice, %q in the path and %q in ?master=", p, master)
		}
		master = p
	}
	if master == "" {
		return nil, fmt.Errorf("parse redis url: redis-sentinel:// needs the master's name (?master=NAME)")
	}
	db := 0
	if s := q.Get("db"); s != "" {
		if db, err = strconv.Atoi(s); err != nil || db < 0 {
			return nil, fmt.Errorf("parse redis url: db=%q is not a database number", s)
		}
	}
	pw, _ := u.User.Password()
	return &Conn{kind: Sentinel, failover: &redis.FailoverOptions{
		MasterName: master, SentinelAddrs: addrs, DB: db,
		Username: u.User.Username(), Password: pw,
		SentinelUsername: q.Get("sentinel_username"), SentinelPassword: q.Get("sentinel_password"),
	}}, nil
}

func parseCluster(u *url.URL) (*Conn, error) {
	if err := checkQuery(u); err != nil {
		return nil, err
	}
	if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
		return nil, fmt.Errorf("parse redis url: a Redis Cluster has database 0 only")
	}
	addrs, err := hosts(u, "6379")
	if err != nil {
		return nil, err
	}
	pw, _ := u.User.Password()
	return &Conn{kind: Cluster, cluster: &redis.ClusterOptions{
		Addrs: addrs, Username: u.User.Username(), Password: pw,
	}}, nil
}

// Kind says which deployment the URL names.
func (c *Conn) Kind() Kind { return c.kind }

// Where describes the servers for messages, without credentials.
func (c *Conn) Where() string {
	switch c.kind {
	case Sentinel:
		return fmt.Sprintf("master %q of sentinels %s", c.failover.MasterName, strings.Join(c.failover.SentinelAddrs, ","))
	case Cluster:
		return "cluster " + strings.Join(c.cluster.Addrs, ",")
	}
	return c.single.Addr
}

// NewClient builds the go-redis client of the URL (it does not connect
// until used). poolSize 0 keeps go-redis's default; in a cluster it is
// the pool of each node.
func (c *Conn) NewClient(poolSize int) redis.UniversalClient { return c.newClient(poolSize, 0) }

// NewProbe builds a client for one quick look at whether the servers
// answer: it dials for at most timeout and never retries.
func (c *Conn) NewProbe(timeout time.Duration) redis.UniversalClient { return c.newClient(1, timeout) }

func (c *Conn) newClient(poolSize int, probe time.Duration) redis.UniversalClient {
	retries := 0
	if probe > 0 {
		retries = -1
	}
	// SABE's commands and replies are small (ids, counters, asynq's task
	// messages); go-redis's 32 KiB read and write buffers per connection
	// made up most of a busy worker's heap.
	switch c.kind {
	case Sentinel:
		o := *c.failover
		o.PoolSize, o.DialTimeout, o.MaxRetries = poolSize, probe, retries
		o.ReadBufferSize, o.WriteBufferSize = connBufferSize, connBufferSize
		return redis.NewFailoverClient(&o)
	case Cluster:
		o := *c.cluster
		o.PoolSize, o.DialTimeout, o.MaxRetries = poolSize, probe, retries
		o.ReadBufferSize, o.WriteBufferSize = connBufferSize, connBufferSize
		return redis.NewClusterClient(&o)
	}
	o := *c.single
	if poolSize > 0 {
		o.PoolSize = poolSize
	}
	if probe > 0 {
		o.DialTimeout, o.MaxRetries = probe, retries
	}
	o.ReadBufferSize, o.WriteBufferSize = connBufferSize, connBufferSize
	return redis.NewClient(&o)
}

// Asynq returns the URL as asynq's connection options, for the parts of
// asynq that open (and close) a connection of their own. poolSize 0
// keeps asynq's default.
func (c *Conn) Asynq(poolSize int) asynq.RedisConnOpt {
	switch c.kind {
	case Sentinel:
		o := c.failover
		return asynq.RedisFailoverClientOpt{
			MasterName: o.MasterName, SentinelAddrs: o.SentinelAddrs,
			SentinelUsername: o.SentinelUsername, SentinelPassword: o.SentinelPassword,
			Username: o.Username, Password: o.Password, DB: o.DB, PoolSize: poolSize,
		}
	case Cluster:
		o := c.cluster
		// asynq's cluster options have no pool size: go-redis's default
		// per node applies.
		return asynq.RedisClusterClientOpt{Addrs: o.Addrs, Username: o.Username, Password: o.Password}
	}
	o := c.single
	return asynq.RedisClientOpt{
		Network: o.Network, Addr: o.Addr, Username: o.Username, Password: o.Password,
		DB: o.DB, TLSConfig: o.TLSConfig, PoolSize: poolSize,
	}
}
