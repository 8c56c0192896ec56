package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/sabe-dev/sabe/internal/envconf"
	"github.com/sabe-dev/sabe/pkg/taskserver"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// TestManifests renders every overlay under overlays/ and checks the same
// invariants on each, so an overlay cannot undo what the base promises.
func TestManifests(t *testing.T) {
	t.Parallel()
	table := readConfigTable(t)
	overlays, err := filepath.Glob("overlays/*")
	if err != nil || len(overlays) < 3 {
		t.Fatalf("overlays: %v %v; want dev, production and production-hpa at least", overlays, err)
	}
	for _, dir := range overlays {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			objs := render(t, dir)
			checkPods(t, objs)
			checkEnv(t, objs, table)
			checkGrace(t, objs)
			checkPorts(t, objs)
			checkAPI(t, objs)
			checkScaling(t, objs, filepath.Base(dir))
			checkNetwork(t, objs)
		})
	}
}

// objects is one rendered overlay, decoded into the API types.
type objects struct {
	deployments  []*appsv1.Deployment
	jobs         []*batchv1.Job
	configMaps   map[string]*corev1.ConfigMap
	services     []*corev1.Service
	pdbs         []*policyv1.PodDisruptionBudget
	hpas         []*autoscalingv2.HorizontalPodAutoscaler
	policies     []*networkingv1.NetworkPolicy
	scaledObject []*scaledObject
	triggerAuths []*triggerAuthentication
}

// scaledObject is the part of KEDA's ScaledObject (keda.sh/v1alpha1) the
// manifests use; KEDA's Go types are not in k8s.io/api, and decoding into
// this struct strictly refuses any field it does not name.
type scaledObject struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		ScaleTargetRef struct {
			Name string `json:"name"`
		} `json:"scaleTargetRef"`
		PollingInterval *int32 `json:"pollingInterval"`
		CooldownPeriod  *int32 `json:"cooldownPeriod"`
		MinReplicaCount *int32 `json:"minReplicaCount"`
		MaxReplicaCount *int32 `json:"maxReplicaCount"`
		Advanced        *struct {
			HorizontalPodAutoscalerConfig *struct {
				// KEDA passes this to the HPA it makes: the Kubernetes type.
				Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior"`
			} `json:"horizontalPodAutoscalerConfig"`
		} `json:"advanced"`
		Triggers []struct {
			Type              string            `json:"type"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef *struct {
				Name string `json:"name"`
			} `json:"authenticationRef"`
		} `json:"triggers"`
	} `json:"spec"`
}

// triggerAuthentication is the part of KEDA's TriggerAuthentication used.
type triggerAuthentication struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef"`
	} `json:"spec"`
}

// redisScalerKeys are the metadata keys of KEDA's redis (list) scaler that
// the manifests may use.
var redisScalerKeys = []string{"listName", "listLength", "activationListLength", "databaseIndex", "enableTLS"}

// render runs kustomize on dir and decodes every object strictly.
func render(t *testing.T, dir string) *objects {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize %s: %v", dir, err)
	}
	o := &objects{configMaps: map[string]*corev1.ConfigMap{}}
	for _, r := range res.Resources() {
		raw, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		gvk := r.GetGvk()
		id := gvk.ApiVersion() + " " + gvk.Kind + " " + r.GetName()
		var dst any
		switch gvk.ApiVersion() + "/" + gvk.Kind {
		case "apps/v1/Deployment":
			d := &appsv1.Deployment{}
			o.deployments, dst = append(o.deployments, d), d
		case "batch/v1/Job":
			j := &batchv1.Job{}
			o.jobs, dst = append(o.jobs, j), j
		case "v1/ConfigMap":
			c := &corev1.ConfigMap{}
			o.configMaps[r.GetName()], dst = c, c
		case "v1/Service":
			s := &corev1.Service{}
			o.services, dst = append(o.services, s), s
		case "v1/ServiceAccount":
			dst = &corev1.ServiceAccount{}
		case "policy/v1/PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			o.pdbs, dst = append(o.pdbs, p), p
		case "autoscaling/v2/HorizontalPodAutoscaler":
			h := &autoscalingv2.HorizontalPodAutoscaler{}
			o.hpas, dst = append(o.hpas, h), h
		case "networking.k8s.io/v1/NetworkPolicy":
			n := &networkingv1.NetworkPolicy{}
			o.policies, dst = append(o.policies, n), n
		case "keda.sh/v1alpha1/ScaledObject":
			s := &scaledObject{}
			o.scaledObject, dst = append(o.scaledObject, s), s
		case "keda.sh/v1alpha1/TriggerAuthentication":
			a := &triggerAuthentication{}
			o.triggerAuths, dst = append(o.triggerAuths, a), a
		default:
			// A Secret in particular: its values would be in the manifest.
			t.Errorf("%s: a kind the manifests should not contain (secrets come from a Secret the operator creates)", id)
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(dst); err != nil {
			t.Errorf("%s does not decode strictly: %v", id, err)
		}
	}
	return o
}

// pod is a workload's pod template with the workload's name.
type pod struct {
	name string
	spec *corev1.PodSpec
}

func (o *objects) pods() []pod {
	var ps []pod
	for _, d := range o.deployments {
		ps = append(ps, pod{"Deployment " + d.Name, &d.Spec.Template.Spec})
	}
	for _, j := range o.jobs {
		ps = append(ps, pod{"Job " + j.Name, &j.Spec.Template.Spec})
	}
	return ps
}

// checkPods: every container runs as non-root, with a read-only root
// filesystem, no privilege escalation, and CPU and memory requests and
// limits.
func checkPods(t *testing.T, o *objects) {
	if len(o.deployments) != 3 || len(o.jobs) != 1 {
		t.Errorf("%d Deployments and %d Jobs; want api, worker, scheduler and the migration Job", len(o.deployments), len(o.jobs))
	}
	for _, p := range o.pods() {
		podNonRoot := p.spec.SecurityContext != nil && p.spec.SecurityContext.RunAsNonRoot != nil && *p.spec.SecurityContext.RunAsNonRoot
		if p.spec.AutomountServiceAccountToken == nil || *p.spec.AutomountServiceAccountToken {
			t.Errorf("%s mounts a service account token; SABE never calls the Kubernetes API", p.name)
		}
		for _, c := range slices.Concat(p.spec.InitContainers, p.spec.Containers) {
			where := p.name + " container " + c.Name
			sc := c.SecurityContext
			if sc == nil {
				t.Errorf("%s has no securityContext", where)
				continue
			}
			nonRoot := podNonRoot
			if sc.RunAsNonRoot != nil {
				nonRoot = *sc.RunAsNonRoot
			}
			if !nonRoot {
				t.Errorf("%s may run as root (runAsNonRoot is not true)", where)
			}
			if sc.RunAsUser != nil && *sc.RunAsUser == 0 || p.spec.SecurityContext.RunAsUser != nil && *p.spec.SecurityContext.RunAsUser == 0 {
				t.Errorf("%s runs as uid 0", where)
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("%s has a writable root filesystem", where)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s allows privilege escalation", where)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s keeps its Linux capabilities (drop ALL)", where)
			}
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				limit, hasLimit := c.Resources.Limits[res]
				req, hasReq := c.Resources.Requests[res]
				switch {
				case !hasLimit || !hasReq:
					t.Errorf("%s has no %s request and limit", where, res)
				case req.Cmp(limit) > 0:
					t.Errorf("%s requests more %s (%s) than its limit (%s)", where, res, req.String(), limit.String())
				}
			}
		}
	}
}

// configVar is one variable of the README's configuration table.
type configVar struct {
	users   []string // the "used by" cell: all, api, worker, `sabe keys`, ...
	meaning string
}

// readConfigTable reads the README's configuration table by variable: a
// row's first cell names one or more variables.
func readConfigTable(t *testing.T) map[string]*configVar {
	t.Helper()
	table := map[string]*configVar{}
	for _, row := range testenv.ReadmeConfigTable(t, "../../README.md") {
		for _, name := range row.Variables {
			v := table[name]
			if v == nil {
				v = &configVar{}
				table[name] = v
			}
			// A variable with a row per process (SABE_METRICS_ADDR) is
			// read by every process of its rows.
			v.users = append(v.users, row.Users...)
			v.meaning += row.Meaning
		}
	}
	if len(table) < 20 || table["SABE_DATABASE_URL"] == nil {
		t.Fatalf("read %d variables from the README's configuration table; the parse is broken", len(table))
	}
	return table
}

// reads says whether the process that runs as command reads v. The
// migration Job's `sabe migrate` reads what every process reads.
func (v *configVar) reads(process string) bool {
	for _, u := range v.users {
		// "all but `sabe dev`": sabe dev is no container of these.
		if u == "all" || strings.HasPrefix(u, "all but ") || u == process {
			return true
		}
	}
	return false
}

// secretLooking says whether a variable carries a credential, by what the
// README says of it: a key, token, secret or password in its name, or a
// meaning that mentions passwords (connection URLs that may hold one).
var secretMeaning = regexp.MustCompile(`(?i)password|:pass@`)

func (v *configVar) secretLooking(name string) bool {
	for _, s := range []string{"_KEY", "_TOKEN", "_SECRET", "_PASSWORD"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return secretMeaning.MatchString(v.meaning)
}

// process names the SABE process a container runs, from its command line.
func process(c corev1.Container) string {
	cmd := slices.Concat(c.Command, c.Args)
	if len(cmd) == 0 {
		return ""
	}
	if cmd[0] == "sabe" && len(cmd) > 1 {
		return "sabe " + cmd[1] // as the README's table names it: `sabe migrate`
	}
	return cmd[0]
}

// checkEnv: every variable a container is given is in the README's table
// and read by the process it runs, every variable that process reads is
// given (defaults included, so every knob is visible), and every
// secret-looking one comes from a Secret, never a value or a ConfigMap.
func checkEnv(t *testing.T, o *objects, table map[string]*configVar) {
	for name, cm := range o.configMaps {
		for k := range cm.Data {
			if v := table[k]; v != nil && v.secretLooking(k) {
				t.Errorf("ConfigMap %s holds %s, a secret: it belongs in the Secret sabe-secrets", name, k)
			}
		}
		if len(cm.BinaryData) > 0 {
			t.Errorf("ConfigMap %s has binaryData", name)
		}
	}
	secretsSeen := 0
	for _, p := range o.pods() {
		for _, c := range p.spec.Containers {
			where := p.name + " container " + c.Name
			proc := process(c)
			if proc != "api" && proc != "worker" && proc != "scheduler" && !strings.HasPrefix(proc, "sabe ") {
				t.Errorf("%s runs %q; want one of the image's binaries", where, proc)
				continue
			}
			given := map[string]string{} // variable -> where its value comes from
			for _, ef := range c.EnvFrom {
				switch {
				case ef.ConfigMapRef != nil:
					cm := o.configMaps[ef.ConfigMapRef.Name]
					if cm == nil {
						t.Errorf("%s reads ConfigMap %s, which the manifests do not define", where, ef.ConfigMapRef.Name)
						continue
					}
					for k := range cm.Data {
						given[k] = "configmap"
					}
				default:
					t.Errorf("%s takes a whole Secret with envFrom; name each variable with secretKeyRef so the test sees it", where)
				}
			}
			for _, e := range c.Env {
				switch {
				case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
					given[e.Name] = "secret"
					secretsSeen++
				case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
					given[e.Name] = "configmap"
				case e.ValueFrom != nil:
					given[e.Name] = "field"
				default:
					given[e.Name] = "value"
				}
			}
			for name, from := range given {
				v := table[name]
				switch {
				case v == nil:
					t.Errorf("%s is given %s, which is not in the README's configuration table", where, name)
				case !v.reads(proc):
					t.Errorf("%s is given %s, which %s does not read (README: used by %s)", where, name, proc, strings.Join(v.users, ", "))
				case v.secretLooking(name) && from != "secret":
					t.Errorf("%s gets %s, a secret, from a %s; it must come from a Secret (secretKeyRef)", where, name, from)
				}
			}
			for name, v := range table {
				if _, ok := given[name]; !ok && v.reads(proc) {
					t.Errorf("%s (%s) is not given %s, which it reads", where, proc, name)
				}
			}
		}
	}
	if secretsSeen == 0 {
		t.Error("no container takes anything from a Secret; the secret check found nothing to check")
	}
}

// env returns the value a ConfigMap gives name in the container, or "".
func env(o *objects, c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	val := ""
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil && o.configMaps[ef.ConfigMapRef.Name] != nil {
			if v, ok := o.configMaps[ef.ConfigMapRef.Name].Data[name]; ok {
				val = v // later sources win, as in Kubernetes
			}
		}
	}
	return val
}

func deployment(t *testing.T, o *objects, component string) *appsv1.Deployment {
	t.Helper()
	for _, d := range o.deployments {
		if d.Spec.Template.Labels["app.kubernetes.io/component"] == component {
			return d
		}
	}
	t.Fatalf("no Deployment for the %s", component)
	return nil
}

// checkGrace: scaling down must not lose work, so the kubelet waits
// longer than a process's own shutdown timeout before killing it: the
// worker's units in flight, the api's requests.
func checkGrace(t *testing.T, o *objects) {
	for component, v := range map[string]envconf.Duration{"worker": envconf.WorkerShutdownTimeout, "api": envconf.APIShutdownTimeout} {
		spec := deployment(t, o, component).Spec.Template.Spec
		timeout := v.Default
		if s := env(o, spec.Containers[0], v.Name); s != "" {
			var err error
			if timeout, err = time.ParseDuration(s); err != nil {
				t.Fatalf("%s %s=%q: %v", component, v.Name, s, err)
			}
		}
		if spec.TerminationGracePeriodSeconds == nil {
			t.Errorf("the %s has no terminationGracePeriodSeconds; the default 30s need not cover %s=%s plus a margin", component, v.Name, timeout)
			continue
		}
		if grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second; grace < timeout+5*time.Second {
			t.Errorf("%s terminationGracePeriodSeconds %s does not cover %s=%s plus a margin of 5s", component, grace, v.Name, timeout)
		}
	}
}

// checkPorts: the addresses the api and the worker listen on, from their
// configuration, are the container ports the Service and Prometheus use,
// on every interface (a loopback listener is unreachable from the pod's
// network).
func checkPorts(t *testing.T, o *objects) {
	for component, vars := range map[string]map[string]string{
		"api":    {"SABE_HTTP_ADDR": "http", "SABE_METRICS_ADDR": "metrics"},
		"worker": {"SABE_METRICS_ADDR": "metrics"},
	} {
		c := deployment(t, o, component).Spec.Template.Spec.Containers[0]
		for name, portName := range vars {
			addr := env(o, c, name)
			host, port, err := net.SplitHostPort(addr)
			if err != nil || (host != "0.0.0.0" && host != "" && host != "::") {
				t.Errorf("%s %s=%q: want all interfaces and a port", component, name, addr)
				continue
			}
			i := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == portName })
			if i < 0 || strconv.Itoa(int(c.Ports[i].ContainerPort)) != port {
				t.Errorf("%s listens on %s (%s) but its container port %q is not that port", component, addr, name, portName)
			}
		}
	}
}

// checkAPI: readiness on /readyz, a Service on its port, and a
// PodDisruptionBudget that covers its pods.
func checkAPI(t *testing.T, o *objects) {
	d := deployment(t, o, "api")
	c := d.Spec.Template.Spec.Containers[0]
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("the api's readiness probe is not GET /readyz")
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("the api's liveness probe is not GET /healthz")
	}
	matches := func(sel map[string]string) bool {
		for k, v := range sel {
			if d.Spec.Template.Labels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	svc := false
	for _, s := range o.services {
		svc = svc || matches(s.Spec.Selector)
	}
	if !svc {
		t.Error("no Service selects the api's pods")
	}
	pdb := false
	for _, p := range o.pdbs {
		pdb = pdb || p.Spec.Selector != nil && matches(p.Spec.Selector.MatchLabels)
	}
	if !pdb {
		t.Error("no PodDisruptionBudget covers the api's pods")
	}
	if r := deployment(t, o, "scheduler").Spec.Replicas; r == nil {
		t.Error("the scheduler has no replica count")
	}
}

// pendingKeys are the Redis lists holding the pending tasks of every queue
// a worker serves, in asynq's key format (checked against asynq itself by
// TestPendingKeyFormat).
func pendingKeys() []string {
	var keys []string
	for q := range taskserver.Queues() {
		keys = append(keys, pendingKey(q))
	}
	sort.Strings(keys)
	return keys
}

func pendingKey(queue string) string { return "asynq:{" + queue + "}:pending" }

// checkScaling: the production overlays scale the workers, by KEDA on
// every queue's pending list or by an HPA on the external queue metric.
func checkScaling(t *testing.T, o *objects, overlay string) {
	worker := deployment(t, o, "worker").Name
	auths := map[string]bool{}
	for _, a := range o.triggerAuths {
		auths[a.Metadata.Name] = true
		for _, ref := range a.Spec.SecretTargetRef {
			if ref.Name == "" || ref.Key == "" || !slices.Contains([]string{"address", "host", "port", "username", "password"}, ref.Parameter) {
				t.Errorf("TriggerAuthentication %s: bad secretTargetRef %+v", a.Metadata.Name, ref)
			}
		}
	}
	for _, so := range o.scaledObject {
		if so.Spec.ScaleTargetRef.Name != worker {
			t.Errorf("ScaledObject %s scales %q, not the worker Deployment", so.Metadata.Name, so.Spec.ScaleTargetRef.Name)
		}
		if so.Spec.MinReplicaCount == nil || so.Spec.MaxReplicaCount == nil || *so.Spec.MinReplicaCount < 1 || *so.Spec.MaxReplicaCount < *so.Spec.MinReplicaCount {
			t.Errorf("ScaledObject %s needs a minimum of at least 1 and a maximum above it", so.Metadata.Name)
		}
		var lists []string
		for _, tr := range so.Spec.Triggers {
			if tr.Type != "redis" {
				t.Errorf("ScaledObject %s: trigger type %q, want redis", so.Metadata.Name, tr.Type)
			}
			for k := range tr.Metadata {
				if !slices.Contains(redisScalerKeys, k) {
					t.Errorf("ScaledObject %s: trigger metadata %q is not a redis scaler setting used here", so.Metadata.Name, k)
				}
			}
			if tr.AuthenticationRef == nil || !auths[tr.AuthenticationRef.Name] {
				t.Errorf("ScaledObject %s: a trigger's authenticationRef names no TriggerAuthentication of the overlay", so.Metadata.Name)
			}
			lists = append(lists, tr.Metadata["listName"])
		}
		sort.Strings(lists)
		if want := pendingKeys(); !slices.Equal(lists, want) {
			t.Errorf("ScaledObject %s watches %q; the worker's queues are pending in %q", so.Metadata.Name, lists, want)
		}
	}
	for _, h := range o.hpas {
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != worker {
			t.Errorf("HPA %s scales %s %s, not the worker Deployment", h.Name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
		}
		for _, m := range h.Spec.Metrics {
			if m.External == nil || m.External.Metric.Name != "sabe_queue_pending" {
				t.Errorf("HPA %s scales on %+v, not the external queue metric sabe_queue_pending", h.Name, m)
			}
		}
	}
	autoscaled := len(o.scaledObject)+len(o.hpas) > 0
	if strings.HasPrefix(overlay, "production") && len(o.scaledObject)+len(o.hpas) != 1 {
		t.Errorf("overlay %s has %d ScaledObjects and %d HPAs; want exactly one autoscaler for the workers", overlay, len(o.scaledObject), len(o.hpas))
	}
	// An autoscaler owns the count; without one the Deployment sets it.
	switch r := deployment(t, o, "worker").Spec.Replicas; {
	case autoscaled && r != nil:
		t.Errorf("the worker Deployment sets %d replicas beside its autoscaler: every apply would reset the count", *r)
	case !autoscaled && r == nil:
		t.Error("the worker Deployment has no replica count and no autoscaler")
	}
}

// checkNetwork: nothing reaches a worker but Prometheus on the metrics
// port, and a default-deny policy covers every SABE pod.
func checkNetwork(t *testing.T, o *objects) {
	worker := deployment(t, o, "worker").Spec.Template.Labels
	selects := func(p *networkingv1.NetworkPolicy) bool {
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if err != nil {
			t.Fatalf("NetworkPolicy %s: %v", p.Name, err)
		}
		return sel.Matches(labels.Set(worker))
	}
	denyAll := false
	for _, p := range o.policies {
		if !selects(p) {
			continue
		}
		if len(p.Spec.Ingress) == 0 && slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			denyAll = true
		}
		for _, rule := range p.Spec.Ingress {
			if len(rule.From) == 0 {
				t.Errorf("NetworkPolicy %s lets anyone reach the workers", p.Name)
			}
			for _, port := range rule.Ports {
				if port.Port == nil || port.Port.String() != "9090" {
					t.Errorf("NetworkPolicy %s opens a worker port other than its metrics (9090)", p.Name)
				}
			}
			if len(rule.Ports) == 0 {
				t.Errorf("NetworkPolicy %s opens every worker port", p.Name)
			}
		}
	}
	if !denyAll {
		t.Error("no NetworkPolicy denies ingress to the workers by default")
	}
}

// TestPendingKeyFormat checks the list names KEDA watches against asynq
// itself: a task enqueued on a queue waits in exactly the list
// pendingKey names, so a change of asynq's key layout fails here rather
// than leaving the workers unscaled.
func TestPendingKeyFormat(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	ctx := context.Background()
	queue := fmt.Sprintf("k8s-test-%d", time.Now().UnixNano())
	client := asynq.NewClientFromRedisClient(rdb)
	if _, err := client.EnqueueContext(ctx, asynq.NewTask("k8s:test", nil), asynq.Queue(queue)); err != nil {
		t.Fatal(err)
	}
	n, err := rdb.LLen(ctx, pendingKey(queue)).Result()
	if err != nil || n != 1 {
		keys, _ := rdb.Keys(ctx, "*"+queue+"*").Result()
		t.Fatalf("LLEN %s = %d, %v; asynq's keys for the queue: %q", pendingKey(queue), n, err, keys)
	}
}
