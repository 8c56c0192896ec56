package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// webhookEvents are the event types a webhook can subscribe to, in the
// order help and completion list them.
var webhookEvents = []string{
	string(oapi.EventRunCompleted), string(oapi.EventRunPartial), string(oapi.EventRunFailed), string(oapi.EventRunCancelled),
	string(oapi.EventRegressionDetected), string(oapi.EventScheduleSkipped),
	string(oapi.EventCircuitOpened), string(oapi.EventCircuitClosed), string(oapi.EventWebhookTest),
}

// deliveryPoll is how often `--wait` reads a delivery.
const deliveryPoll = time.Second

// webhooksCommand is `sabe webhooks`.
func webhooksCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "Send events (finished runs, regressions, skipped schedules, provider outages) to other systems (admin)",
		Long: `webhooks manages the endpoints SABE POSTs events to, signed per the
Standard Webhooks specification, as JSON or as Slack messages. WEBHOOK is
a webhook's name or id. Every command needs a token with the admin scope.`,
		Example: `  sabe webhooks create --name ops --url https://hooks.example.com/sabe --event run.failed --event regression.detected
  sabe webhooks test ops --wait
  sabe webhooks deliveries ops --status failed`,
		GroupID: groupUse,
		Args:    cobra.ArbitraryArgs,
		RunE:    needSubcommand,
	}
	cmd.AddCommand(
		webhooksListCommand(e),
		webhooksShowCommand(e),
		webhooksCreateCommand(e),
		webhooksUpdateCommand(e),
		webhooksRemoveCommand(e),
		webhooksTestCommand(e),
		webhooksDeliveriesCommand(e),
		webhooksRedeliverCommand(e),
		webhooksRotateCommand(e),
	)
	return cmd
}

// webhookArg resolves a WEBHOOK argument (a name or an id) and returns it
// with the client to call.
func (e *env) webhookArg(ctx context.Context, arg string) (*client.Client, uuid.UUID, error) {
	c, err := e.client()
	if err != nil {
		return nil, uuid.Nil, err
	}
	id, err := resolve(ctx, c, "/v1/webhooks", arg)
	return c, id, err
}

// webhookState is a webhook's state in a word or a few: enabled,
// disabled, or disabled by SABE with the reason.
func webhookState(w oapi.Webhook) string {
	switch {
	case w.Enabled:
		return "enabled"
	case w.DisabledReason != nil && strings.HasPrefix(*w.DisabledReason, "disabled"):
		return *w.DisabledReason // SABE's reasons say it
	case w.DisabledReason != nil:
		return "disabled: " + *w.DisabledReason
	default:
		return "disabled"
	}
}

// eventsCell is a webhook's events as one cell.
func eventsCell(ev []oapi.WebhookEventType) string {
	s := make([]string, len(ev))
	for i, x := range ev {
		s[i] = string(x)
	}
	return strings.Join(s, ",")
}

// webhooksListCommand is `sabe webhooks ls`.
func webhooksListCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List webhooks with their state and failures",
		Example: "  sabe webhooks ls\n  sabe webhooks ls --json | jq -r '.[] | select(.enabled | not) | .name'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			all, err := c.AllWebhooks(cmd.Context())
			if err != nil {
				return err
			}
			if all == nil {
				all = []oapi.Webhook{} // --json: [], not null
			}
			t := table{Header: []string{"ID", "NAME", "FORMAT", "STATE", "FAILURES", "LAST SUCCESS", "EVENTS", "URL"}, Fixed: 1}
			for _, w := range all {
				t.Rows = append(t.Rows, []string{
					w.Id.String(), w.Name, string(w.Format), webhookState(w), fmt.Sprint(w.ConsecutiveFailures),
					whenOr(w.LastSuccessAt), eventsCell(w.Events), w.Url,
				})
			}
			return e.print(all, t)
		},
	}
}

// whenOr is when(*t), or "-" for nil.
func whenOr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return when(*t)
}

// webhookSummary is a webhook's fields, one "key  value" line each.
func webhookSummary(w oapi.Webhook) string {
	var b strings.Builder
	add := func(k, v string) { fmt.Fprintf(&b, "%-14s %s\n", k, v) }
	add("webhook", w.Id.String())
	add("name", w.Name)
	add("url", w.Url)
	add("format", string(w.Format))
	add("events", strings.ReplaceAll(eventsCell(w.Events), ",", ", "))
	if len(w.BenchmarkIds) == 0 {
		add("benchmarks", "all")
	} else {
		ids := make([]string, len(w.BenchmarkIds))
		for i, id := range w.BenchmarkIds {
			ids[i] = id.String()
		}
		add("benchmarks", strings.Join(ids, ", "))
	}
	add("state", webhookState(w))
	if w.DisabledAt != nil {
		add("disabled at", when(*w.DisabledAt))
	}
	add("failures", fmt.Sprintf("%d in a row", w.ConsecutiveFailures))
	add("secret", w.SecretPrefix+"…")
	if w.PreviousSecretExpiresAt != nil {
		add("old secret", "also signs until "+when(*w.PreviousSecretExpiresAt))
	}
	add("last delivery", whenOr(w.LastDeliveryAt))
	add("last success", whenOr(w.LastSuccessAt))
	add("created", when(w.CreatedAt))
	return b.String()
}

// webhooksShowCommand is `sabe webhooks show`.
func webhooksShowCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:               "show WEBHOOK",
		Short:             "Show a webhook: URL, events, state, failures, secret prefix",
		Example:           "  sabe webhooks show ops\n  sabe webhooks show ops --json | jq .consecutive_failures",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeNames("/v1/webhooks"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, id, err := e.webhookArg(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			w, err := c.GetWebhook(cmd.Context(), id)
			if err != nil {
				return err
			}
			if e.global.json {
				return e.printJSON(w)
			}
			e.printf("%s", webhookSummary(w))
			return nil
		},
	}
}

// webhookFlags are the flags create and update share.
type webhookFlags struct {
	name, url, format string
	events, benches   []string
}

func (f *webhookFlags) register(cmd *cobra.Command, e *env) {
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "the webhook's name")
	fl.StringVar(&f.url, "url", "", "where events are POSTed (https://…)")
	fl.StringVar(&f.format, "format", "", "json (Standard Webhooks payloads) or slack (a Slack incoming-webhook message)")
	fl.StringSliceVar(&f.events, "event", nil, "an event type to send (repeat or separate with commas): "+strings.Join(webhookEvents, ", "))
	fl.StringSliceVar(&f.benches, "benchmark", nil, "only events of this benchmark, name or id (repeat for several; none: every benchmark)")
	_ = cmd.RegisterFlagCompletionFunc("event", cobra.FixedCompletions(webhookEvents, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"json", "slack"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("benchmark", e.completeNames("/v1/benchmarks"))
}

// eventTypes checks --event; a type SABE does not know is a usage error.
func (f *webhookFlags) eventTypes(cmd *cobra.Command) ([]oapi.WebhookEventType, error) {
	out := make([]oapi.WebhookEventType, 0, len(f.events))
	for _, s := range f.events {
		t := oapi.WebhookEventType(strings.TrimSpace(s))
		if !t.Valid() {
			return nil, command.Usagef(cmd.UsageString(), "--event %q: give one of %s", s, strings.Join(webhookEvents, ", "))
		}
		out = append(out, t)
	}
	return out, nil
}

// formatValue checks --format.
func (f *webhookFlags) formatValue(cmd *cobra.Command) (*oapi.WebhookFormat, error) {
	if f.format == "" {
		return nil, nil
	}
	v := oapi.WebhookFormat(f.format)
	if !v.Valid() {
		return nil, command.Usagef(cmd.UsageString(), "--format %q: give json or slack", f.format)
	}
	return &v, nil
}

// benchmarkIDs resolves --benchmark to ids.
func (f *webhookFlags) benchmarkIDs(ctx context.Context, c *client.Client) ([]uuid.UUID, error) {
	ids := make([]uuid.UUID, 0, len(f.benches))
	for _, b := range f.benches {
		id, err := resolve(ctx, c, "/v1/benchmarks", b)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// printSecret prints a webhook with its signing secret, which the API
// shows this once.
func (e *env) printSecret(w oapi.CreatedWebhook, verb string) error {
	if e.global.json {
		return e.printJSON(w)
	}
	if e.global.quiet {
		// The secret is the result: --quiet prints it alone, for scripts.
		_, err := fmt.Fprintln(e.io.Out, w.Secret)
		return err
	}
	e.printf("webhook %s (%s) %s\nsecret: %s\n", w.Name, w.Id, verb, w.Secret)
	e.printf("Store the secret now: it will not be shown again. Receivers verify the webhook-signature header with it.\n")
	return nil
}

// webhooksCreateCommand is `sabe webhooks create`.
func webhooksCreateCommand(e *env) *cobra.Command {
	var (
		f        webhookFlags
		disabled bool
	)
	cmd := &cobra.Command{
		Use:   "create --name NAME --url URL --event TYPE... [--benchmark B...] [--format json|slack] [--disabled]",
		Short: "Subscribe an endpoint to events; prints its signing secret once",
		Long: `create adds a webhook. SABE generates its signing secret and prints it
this once (with --quiet, alone on the line): store it where the receiver
can read it. The URL must not point at a loopback, private or metadata
address unless the server allows private webhooks.`,
		Example: `  sabe webhooks create --name ops --url https://hooks.example.com/sabe \
      --event run.failed,regression.detected --benchmark nightly
  sabe webhooks create --name team-slack --format slack \
      --url https://hooks.slack.com/services/T000/B000/XXXX --event regression.detected
  SECRET=$(sabe webhooks create --name ci --url https://ci.example.com/hook --event run.completed --quiet)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.name == "" || f.url == "" || len(f.events) == 0 {
				return command.Usagef(cmd.UsageString(), "create needs --name, --url and at least one --event")
			}
			events, err := f.eventTypes(cmd)
			if err != nil {
				return err
			}
			format, err := f.formatValue(cmd)
			if err != nil {
				return err
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			in := oapi.CreateWebhookRequest{Name: f.name, Url: f.url, Events: events, Format: format}
			if len(f.benches) > 0 {
				ids, err := f.benchmarkIDs(cmd.Context(), c)
				if err != nil {
					return err
				}
				in.BenchmarkIds = &ids
			}
			if disabled {
				off := false
				in.Enabled = &off
			}
			w, err := c.CreateWebhook(cmd.Context(), in)
			if err != nil {
				return err
			}
			return e.printSecret(w, "created")
		},
	}
	f.register(cmd, e)
	cmd.Flags().BoolVar(&disabled, "disabled", false, "create it disabled: nothing is sent until it is enabled")
	return cmd
}

// webhooksUpdateCommand is `sabe webhooks update`.
func webhooksUpdateCommand(e *env) *cobra.Command {
	var (
		f                     webhookFlags
		enable, disable, anyB bool
	)
	cmd := &cobra.Command{
		Use:   "update WEBHOOK [--name N] [--url U] [--event T...] [--benchmark B... | --all-benchmarks] [--format F] [--enable | --disable]",
		Short: "Change a webhook; --enable also clears the failures after SABE disabled it",
		Long: `update changes the fields given; the others stay. --event and --benchmark
replace the lists as a whole. --enable turns on a webhook SABE disabled
after failed deliveries and clears its failure count; deliveries cancelled
then are not resent (sabe webhooks redeliver sends one again).`,
		Example: `  sabe webhooks update ops --enable
  sabe webhooks update ops --event run.failed --event regression.detected
  sabe webhooks update ops --all-benchmarks`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeNames("/v1/webhooks"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if enable && disable {
				return command.Usagef(cmd.UsageString(), "give --enable or --disable, not both")
			}
			if anyB && len(f.benches) > 0 {
				return command.Usagef(cmd.UsageString(), "give --benchmark or --all-benchmarks, not both")
			}
			var in oapi.UpdateWebhookRequest
			changed := false
			if f.name != "" {
				in.Name, changed = &f.name, true
			}
			if f.url != "" {
				in.Url, changed = &f.url, true
			}
			format, err := f.formatValue(cmd)
			if err != nil {
				return err
			}
			if format != nil {
				in.Format, changed = format, true
			}
			if len(f.events) > 0 {
				events, err := f.eventTypes(cmd)
				if err != nil {
					return err
				}
				in.Events, changed = &events, true
			}
			if enable || disable {
				in.Enabled, changed = &enable, true
			}
			if !changed && len(f.benches) == 0 && !anyB {
				return command.Usagef(cmd.UsageString(), "update needs something to change")
			}
			c, id, err := e.webhookArg(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if anyB {
				in.BenchmarkIds = &[]uuid.UUID{}
			} else if len(f.benches) > 0 {
				ids, err := f.benchmarkIDs(cmd.Context(), c)
				if err != nil {
					return err
				}
				in.BenchmarkIds = &ids
			}
			w, err := c.UpdateWebhook(cmd.Context(), id, in)
			if err != nil {
				return err
			}
			if e.global.json {
				return e.printJSON(w)
			}
			e.printf("webhook %s updated: %s\n", w.Name, webhookState(w))
			return nil
		},
	}
	f.register(cmd, e)
	fl := cmd.Flags()
	fl.BoolVar(&enable, "enable", false, "send events again (clears the failures after SABE disabled it)")
	fl.BoolVar(&disable, "disable", false, "stop sending events")
	fl.BoolVar(&anyB, "all-benchmarks", false, "send events of every benchmark")
	return cmd
}

// webhooksRemoveCommand is `sabe webhooks rm`.
func webhooksRemoveCommand(e *env) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:               "rm WEBHOOK [--yes]",
		Aliases:           []string{"delete"},
		Short:             "Delete a webhook with its deliveries (asks first on a terminal; give --yes elsewhere)",
		Example:           "  sabe webhooks rm ops\n  sabe webhooks rm ops --yes",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeNames("/v1/webhooks"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes && !e.io.Terminal {
				return command.Usagef(cmd.UsageString(), "deleting webhook %s needs --yes when no one is at a terminal to confirm", args[0])
			}
			c, id, err := e.webhookArg(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if !yes && !e.confirm(fmt.Sprintf("Delete webhook %s and its deliveries?", args[0])) {
				e.notef("left as it was\n")
				return nil
			}
			if err := c.DeleteWebhook(cmd.Context(), id); err != nil {
				return err
			}
			e.printf("webhook %s deleted\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	return cmd
}

// webhooksRotateCommand is `sabe webhooks rotate-secret`.
func webhooksRotateCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-secret WEBHOOK",
		Short: "Give a webhook a new signing secret; prints it once",
		Long: `rotate-secret generates a new signing secret and prints it this once.
For the next 24 hours deliveries carry two signatures, one with each
secret, so the receiver can switch over without dropping a message.`,
		Example:           "  sabe webhooks rotate-secret ops\n  SECRET=$(sabe webhooks rotate-secret ops --quiet)",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeNames("/v1/webhooks"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, id, err := e.webhookArg(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			w, err := c.RotateWebhookSecret(cmd.Context(), id)
			if err != nil {
				return err
			}
			if err := e.printSecret(w, "has a new secret"); err != nil {
				return err
			}
			if w.PreviousSecretExpiresAt != nil {
				e.printf("The old secret also signs deliveries until %s.\n", when(*w.PreviousSecretExpiresAt))
			}
			return nil
		},
	}
}

// attemptsTable is a delivery's attempts, oldest first.
func attemptsTable(d oapi.WebhookDelivery) table {
	t := table{Header: []string{"ATTEMPT", "STARTED", "STATUS", "LATENCY", "ERROR", "RESPONSE"}, Wrap: true}
	for _, a := range d.Attempts {
		status := "-"
		if a.StatusCode != nil {
			status = fmt.Sprint(*a.StatusCode)
		}
		lat := a.LatencyMs
		t.Rows = append(t.Rows, []string{
			fmt.Sprint(a.Attempt), when(a.StartedAt), status, ms(&lat), deref(a.Error), strings.TrimSpace(a.ResponseExcerpt),
		})
	}
	return t
}

// printDelivery prints a delivery with its attempts.
func (e *env) printDelivery(d oapi.WebhookDelivery) error {
	if e.global.json {
		return e.printJSON(d)
	}
	line := fmt.Sprintf("delivery %s (%s, %s): %s", d.Id, d.EventType, d.EventId, d.Status)
	if d.Status == oapi.DeliveryPending && d.NextAttemptAt != nil {
		line += ", next attempt " + when(*d.NextAttemptAt)
	}
	if d.LastError != nil && d.Status != oapi.DeliverySucceeded {
		line += ": " + *d.LastError
	}
	e.printf("%s\n", line)
	if len(d.Attempts) > 0 {
		e.printf("%s", attemptsTable(d).render(e.io.Width))
	}
	return nil
}

// followDelivery prints a delivery as it is now or, with wait, once it is
// no longer pending; a delivery that ended other than succeeded is an
// error (exit 1).
func (e *env) followDelivery(ctx context.Context, c *client.Client, d oapi.WebhookDelivery, w deliveryWait) error {
	if w.wait {
		e.notef("delivery %s: waiting for the endpoint's answer…\n", d.Id)
		wctx, cancel := context.WithTimeout(ctx, w.timeout)
		defer cancel()
		var err error
		d, err = c.WaitDelivery(wctx, d.WebhookId, d.Id, deliveryPoll, nil)
		if err != nil {
			if len(d.Attempts) > 0 {
				_ = e.printDelivery(d)
			}
			return err
		}
	}
	if err := e.printDelivery(d); err != nil {
		return err
	}
	if w.wait && d.Status != oapi.DeliverySucceeded {
		n := fmt.Sprintf("%d attempt", len(d.Attempts))
		if len(d.Attempts) != 1 {
			n += "s"
		}
		return command.Exitf(command.ExitFailure, "delivery %s %s after %s: %s", d.Id, d.Status, n, deref(d.LastError))
	}
	return nil
}

// deliveryWait is --wait and --timeout of the commands that make a
// delivery.
type deliveryWait struct {
	wait    bool
	timeout time.Duration
}

func (w *deliveryWait) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&w.wait, "wait", false, "follow the delivery until it succeeds or fails; exit 1 unless it succeeded")
	cmd.Flags().DurationVar(&w.timeout, "timeout", 2*time.Minute, "with --wait: give up after this long")
}

func (w *deliveryWait) check(cmd *cobra.Command) error {
	if w.timeout <= 0 {
		return command.Usagef(cmd.UsageString(), "--timeout %s: give a duration above 0, such as 1m", w.timeout)
	}
	return nil
}

// webhooksTestCommand is `sabe webhooks test`.
func webhooksTestCommand(e *env) *cobra.Command {
	var w deliveryWait
	cmd := &cobra.Command{
		Use:   "test WEBHOOK [--wait [--timeout D]]",
		Short: "Send a webhook.test event; with --wait, follow it and exit 1 unless it succeeded",
		Long: `test sends a webhook.test event to the webhook, whatever events it is
subscribed to, delivered like any other (signed, retried). With --wait it
follows the delivery until it is no longer pending (a failing endpoint is
retried with backoff, so bound the wait with --timeout), prints the
attempts, and exits 1 when the delivery failed.`,
		Example: `  sabe webhooks test ops
  sabe webhooks test ops --wait --timeout 30s`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeNames("/v1/webhooks"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := w.check(cmd); err != nil {
				return err
			}
			c, id, err := e.webhookArg(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			d, err := c.TestWebhook(cmd.Context(), id)
			if err != nil {
				return err
			}
			return e.followDelivery(cmd.Context(), c, d, w)
		},
	}
	w.register(cmd)
	return cmd
}

// webhooksDeliveriesCommand is `sabe webhooks deliveries`.
func webhooksDeliveriesCommand(e *env) *cobra.Command {
	var (
		status, event string
		limit         int
	)
	cmd := &cobra.Command{
		Use:   "deliveries WEBHOOK [--status S] [--event T] [--limit N]",
		Short: "List a webhook's deliveries, newest first, with their last attempt",
		Example: `  sabe webhooks deliveries ops
  sabe webhooks deliveries ops --status failed --limit 5
  sabe webhooks deliveries ops --json | jq '.[0].attempts'`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeNames("/v1/webhooks"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var f client.DeliveryFilter
			if status != "" {
				s := oapi.WebhookDeliveryStatus(status)
				if !s.Valid() {
					return command.Usagef(cmd.UsageString(), "--status %q: give pending, succeeded, failed or cancelled", status)
				}
				f.Status = &s
			}
			if event != "" {
				t := oapi.WebhookEventType(event)
				if !t.Valid() {
					return command.Usagef(cmd.UsageString(), "--event %q: give one of %s", event, strings.Join(webhookEvents, ", "))
				}
				f.EventType = &t
			}
			if limit < 1 || limit > 200 {
				return command.Usagef(cmd.UsageString(), "--limit %d: give 1 to 200", limit)
			}
			c, id, err := e.webhookArg(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			page, err := c.ListDeliveries(cmd.Context(), id, f, limit, "")
			if err != nil {
				return err
			}
			items := page.Items
			if items == nil {
				items = []oapi.WebhookDelivery{}
			}
			t := table{Header: []string{"ID", "EVENT", "STATUS", "ATTEMPTS", "LAST STATUS", "CREATED", "LAST ERROR"}, Fixed: 1, Wrap: true}
			for _, d := range items {
				last := "-"
				if n := len(d.Attempts); n > 0 && d.Attempts[n-1].StatusCode != nil {
					last = fmt.Sprint(*d.Attempts[n-1].StatusCode)
				}
				t.Rows = append(t.Rows, []string{
					d.Id.String(), string(d.EventType), string(d.Status), fmt.Sprint(len(d.Attempts)), last, when(d.CreatedAt), deref(d.LastError),
				})
			}
			if err := e.print(items, t); err != nil {
				return err
			}
			if page.NextCursor != nil && *page.NextCursor != "" {
				e.notef("more deliveries: raise --limit\n")
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&status, "status", "", "only deliveries in this state: pending, succeeded, failed, cancelled")
	fl.StringVar(&event, "event", "", "only deliveries of this event type")
	fl.IntVar(&limit, "limit", 20, "how many deliveries to list (1 to 200)")
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions([]string{"pending", "succeeded", "failed", "cancelled"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("event", cobra.FixedCompletions(webhookEvents, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// webhooksRedeliverCommand is `sabe webhooks redeliver`.
func webhooksRedeliverCommand(e *env) *cobra.Command {
	var w deliveryWait
	cmd := &cobra.Command{
		Use:   "redeliver WEBHOOK DELIVERY [--wait]",
		Short: "Send a delivery's event again, with the same webhook-id",
		Long: `redeliver makes a new delivery of a delivery's event, whatever became of
the first (a receiver that deduplicates by webhook-id sees a duplicate).
DELIVERY is a delivery's id (sabe webhooks deliveries lists them). --wait
follows it as test --wait does.`,
		Example: `  sabe webhooks redeliver ops 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f
  sabe webhooks redeliver ops 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f --wait`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: e.completeNames("/v1/webhooks"),
		RunE: func(cmd *cobra.Command, args []string) error {
			did, err := uuid.Parse(args[1])
			if err != nil {
				return command.Usagef(cmd.UsageString(), "%q is not a delivery id (sabe webhooks deliveries %s lists them)", args[1], args[0])
			}
			if err := w.check(cmd); err != nil {
				return err
			}
			c, id, err := e.webhookArg(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			d, err := c.Redeliver(cmd.Context(), id, did)
			if err != nil {
				return err
			}
			return e.followDelivery(cmd.Context(), c, d, w)
		},
	}
	w.register(cmd)
	return cmd
}
