package envconf

import "time"

// The variables more than one process reads, each defined here once, so a
// name means the same thing with the same default in every process that
// reads it. (The connection URLs are defined beside their defaults:
// store.DatabaseURL and redisconn.URL.)
//
// A setting whose meaning differs between processes has a name per
// process (SABE_PROVIDER_TIMEOUT bounds a worker's benchmark call,
// SABE_API_PROVIDER_TIMEOUT the api's own provider test). A setting that
// means the same in each but whose default must differ keeps one name,
// so one value set for the whole deployment reaches every process, and
// its per-process defaults stand side by side below.
var (
	// LogLevel is debug, info, warn or error (logging.New checks it).
	LogLevel = String{Name: "SABE_LOG_LEVEL", Default: "info"}
	// LogFormat is json or text (logging.New checks it).
	LogFormat = String{Name: "SABE_LOG_FORMAT", Default: "json"}
	// AllowPrivateProviders lets provider base URLs reach loopback,
	// private, link-local and metadata addresses.
	AllowPrivateProviders = Bool{Name: "SABE_ALLOW_PRIVATE_PROVIDERS"}
	// ProviderAllow lists the hosts and CIDRs let through the provider
	// address guard, comma-separated (provider.ParseAllow checks it).
	ProviderAllow = String{Name: "SABE_PROVIDER_ALLOW"}
	// AllowPrivateWebhooks lets webhook URLs reach loopback, private,
	// link-local and metadata addresses (apart from providers: a
	// self-hosted model server is no reason to let webhooks reach
	// internal services).
	AllowPrivateWebhooks = Bool{Name: "SABE_ALLOW_PRIVATE_WEBHOOKS"}
	// PublicURL is where people and webhook receivers reach the api and
	// the dashboard (https://sabe.example.com); events link to it. Unset:
	// links are paths from the server's root.
	PublicURL = String{Name: "SABE_PUBLIC_URL"}
	// Pprof adds Go's profiler to the metrics listener.
	Pprof = Bool{Name: "SABE_PPROF"}

	// APIShutdownTimeout and WorkerShutdownTimeout are how long a
	// stopping process lets in-flight work finish: an api request is
	// short, a worker's provider call is not.
	APIShutdownTimeout    = Duration{Name: "SABE_SHUTDOWN_TIMEOUT", Default: 15 * time.Second, Min: 0, Max: time.Hour}
	WorkerShutdownTimeout = Duration{Name: "SABE_SHUTDOWN_TIMEOUT", Default: 30 * time.Second, Min: time.Second, Max: time.Hour}

	// APIMetricsAddr and WorkerMetricsAddr are the internal /metrics
	// listeners, on loopback by default since metrics are for the
	// operator's scraper; their ports differ so that an api and a worker
	// share a machine.
	APIMetricsAddr    = Listen{Name: "SABE_METRICS_ADDR", Default: "127.0.0.1:9091"}
	WorkerMetricsAddr = Listen{Name: "SABE_METRICS_ADDR", Default: "127.0.0.1:9090"}
)
