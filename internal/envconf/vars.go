package envconf

import (
	"net"
	"strings"
	"time"
)

// String is a text variable: its name and its default.
type String struct {
	Name, Default string
}

// Read returns the variable's value, or the default when it is unset or
// empty.
func (v String) Read(r *Reader) string { return r.String(v.Name, v.Default) }

// Bool is a true/false variable.
type Bool struct {
	Name    string
	Default bool
}

// Read returns the variable as a boolean (see Reader.Bool).
func (v Bool) Read(r *Reader) bool { return r.Bool(v.Name, v.Default) }

// Duration is a Go duration variable within [Min, Max].
type Duration struct {
	Name              string
	Default, Min, Max time.Duration
}

// Read returns the variable as a duration (see Reader.Duration).
func (v Duration) Read(r *Reader) time.Duration {
	return r.Duration(v.Name, v.Default, v.Min, v.Max)
}

// Listen is an internal listener's host:port ("off" turns it off).
type Listen struct {
	Name, Default string
}

// Read returns the address to listen on, "" when the variable is "off";
// explicit says the variable was set, so that a taken address is an error
// and not just a warning about the default.
func (v Listen) Read(r *Reader) (addr string, explicit bool) {
	explicit = strings.TrimSpace(r.getenv(v.Name)) != ""
	addr = r.String(v.Name, v.Default)
	if strings.EqualFold(addr, "off") {
		return "", explicit
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		r.Fail(v.Name, "must be host:port (port 0 picks one) or off, got %q", addr)
	}
	return addr, explicit
}
