package redisconn_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/internal/redisconn"
)

func TestParse(t *testing.T) {
	t.Parallel()
	t.Run("Standalone", func(t *testing.T) {
		t.Parallel()
		c, err := redisconn.Parse("redis://:pw@10.0.0.1:6380/3")
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind() != redisconn.Standalone || c.Where() != "10.0.0.1:6380" {
			t.Errorf("kind %v where %q", c.Kind(), c.Where())
		}
		want := asynq.RedisClientOpt{Network: "tcp", Addr: "10.0.0.1:6380", Password: "pw", DB: 3, PoolSize: 4}
		if got := c.Asynq(4); !reflect.DeepEqual(got, want) {
			t.Errorf("asynq options %+v, want %+v", got, want)
		}
	})
	t.Run("SentinelAsynqForm", func(t *testing.T) {
		t.Parallel()
		// asynq's own form: the master in ?master=, sentinels comma-separated.
		c, err := redisconn.Parse("redis-sentinel://:pw@s1:26379,s3,s2:26380?master=mymaster&db=2&sentinel_password=spw")
		if err != nil {
			t.Fatal(err)
		}
		want := asynq.RedisFailoverClientOpt{
			MasterName: "mymaster", SentinelAddrs: []string{"s1:26379", "s3:26379", "s2:26380"},
			SentinelPassword: "spw", Password: "pw", DB: 2,
		}
		if got := c.Asynq(0); !reflect.DeepEqual(got, want) {
			t.Errorf("asynq options %+v, want %+v", got, want)
		}
		if c.Kind() != redisconn.Sentinel || strings.Contains(c.Where(), "pw") {
			t.Errorf("kind %v where %q", c.Kind(), c.Where())
		}
	})
	t.Run("SentinelMasterInPath", func(t *testing.T) {
		t.Parallel()
		c, err := redisconn.Parse("redis-sentinel://s1:26379/mymaster")
		if err != nil {
			t.Fatal(err)
		}
		if o := c.Asynq(0).(asynq.RedisFailoverClientOpt); o.MasterName != "mymaster" {
			t.Errorf("master %q", o.MasterName)
		}
	})
	t.Run("Cluster", func(t *testing.T) {
		t.Parallel()
		c, err := redisconn.Parse("redis-cluster://u:pw@n1:7000,n2:7001")
		if err != nil {
			t.Fatal(err)
		}
		want := asynq.RedisClusterClientOpt{Addrs: []string{"n1:7000", "n2:7001"}, Username: "u", Password: "pw"}
		if got := c.Asynq(0); !reflect.DeepEqual(got, want) {
			t.Errorf("asynq options %+v, want %+v", got, want)
		}
		if c.Kind() != redisconn.Cluster {
			t.Errorf("kind %v", c.Kind())
		}
	})
	for name, u := range map[string]string{
		"ErrSentinelNoMaster":     "redis-sentinel://:secret@s1:26379",
		"ErrSentinelTwoMasters":   "redis-sentinel://:secret@s1:26379/a?master=b",
		"ErrSentinelBadDB":        "redis-sentinel://:secret@s1:26379?master=m&db=x",
		"ErrSentinelUnknownParam": "redis-sentinel://:secret@s1:26379?master=m&dbb=1",
		"ErrSentinelNoHost":       "redis-sentinel://:secret@/m",
		"ErrClusterDB":            "redis-cluster://:secret@n1:7000/2",
		"ErrClusterParam":         "redis-cluster://:secret@n1:7000?db=1",
		"ErrScheme":               "http://:secret@n1:7000",
		"ErrBadURL":               "redis://:secret@n1:7000/%zz",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := redisconn.Parse(u)
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}
