// Package modifier applies resource modifier rules to objects being restored:
// each rule selects objects by group-resource, name, namespace, labels and
// field values, and changes them with RFC 6902 JSON patches and RFC 7386 JSON
// merge patches. The rules file format is compatible with Velero's resource
// modifiers (version v1, without strategic merge patches).
package modifier

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// Version is the only supported value of Rules.Version.
const Version = "v1"

// Rules is a parsed resource modifiers file. Obtain it from Parse and treat it
// as read-only; a nil *Rules applies nothing.
type Rules struct {
	Version               string `json:"version"`
	ResourceModifierRules []Rule `json:"resourceModifierRules"`

	compiled []compiledRule
}

// Rule changes the objects matching Conditions with Patches, then MergePatches.
type Rule struct {
	Conditions   Conditions   `json:"conditions"`
	Patches      []JSONPatch  `json:"patches,omitempty"`
	MergePatches []MergePatch `json:"mergePatches,omitempty"`
}

// Conditions select the objects a rule applies to; all set conditions must hold.
type Conditions struct {
	// GroupResource is a glob (path.Match) over "resource.group", or just
	// "resource" for the core group; "*" matches everything.
	GroupResource string `json:"groupResource"`
	// ResourceNameRegex is a Go regular expression matched against metadata.name.
	ResourceNameRegex string `json:"resourceNameRegex,omitempty"`
	// Namespaces are globs; when set, cluster-scoped objects never match.
	Namespaces    []string              `json:"namespaces,omitempty"`
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
	Matches       []Match               `json:"matches,omitempty"`
}

// Match requires the value at the JSON pointer Path to equal Value, where Value
// is JSON text ("3", "true", "{\"a\":1}") or, for string fields, the plain string.
type Match struct {
	Path  string `json:"path"`
	Value string `json:"value"`
}

// JSONPatch is one RFC 6902 operation. Value holds JSON text; text that is not
// valid JSON is used as a plain string.
type JSONPatch struct {
	Operation string  `json:"operation"`
	From      string  `json:"from,omitempty"`
	Path      string  `json:"path"`
	Value     *string `json:"value,omitempty"`
}

// MergePatch is an RFC 7386 JSON merge patch written as YAML or JSON.
type MergePatch struct {
	PatchData string `json:"patchData"`
}

type compiledRule struct {
	groupResource string
	nameRegex     *regexp.Regexp
	namespaces    []string
	selector      labels.Selector // nil when the rule has no label selector
	fieldMatches  []compiledMatch
	ops           []compiledOp
	merges        [][]byte
}

type compiledMatch struct {
	path    string
	pointer []string
	text    string
	value   any // decoded text; only meaningful when isJSON
	isJSON  bool
}

type compiledOp struct {
	desc string // "replace /spec/replicas", for error messages
	// mustExist is the pointer that has to resolve before the op runs:
	// json-patch v4 silently treats a missing key as null for replace and copy.
	mustExist     []string
	mustExistPath string
	patch         jsonpatch.Patch
}

// Parse decodes and validates a resource modifiers file in YAML or JSON.
func Parse(data []byte) (*Rules, error) {
	var r Rules
	if err := yaml.UnmarshalStrict(data, &r); err != nil {
		return nil, decodeError(data, err)
	}
	compiled, err := r.compile()
	if err != nil {
		return nil, err
	}
	r.compiled = compiled
	return &r, nil
}

// decodeError explains err, the failure to decode data strictly, naming the
// rule at fault when there is one.
func decodeError(data []byte, err error) error {
	prefix := "modifier: decode rules"
	var loose struct {
		Version               string `json:"version"`
		ResourceModifierRules []any  `json:"resourceModifierRules"`
	}
	if yaml.UnmarshalStrict(data, &loose) == nil {
		for i, rule := range loose.ResourceModifierRules {
			raw, merr := json.Marshal(rule)
			if merr != nil {
				break
			}
			var r Rule
			if rerr := yaml.UnmarshalStrict(raw, &r); rerr != nil {
				prefix, err = fmt.Sprintf("modifier: rule %d", i+1), rerr
				break
			}
		}
	}
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Value != "string" && strings.HasSuffix(te.Field, ".value"):
		return fmt.Errorf(`%s: %w; values are strings holding JSON, quote them, e.g. value: "2" or value: '{"a": 1}'`, prefix, err)
	case strings.Contains(err.Error(), "unknown field"):
		return fmt.Errorf("%s: %w; known fields are version, resourceModifierRules, and per rule "+
			"conditions (groupResource, resourceNameRegex, namespaces, labelSelector, matches), "+
			"patches (operation, from, path, value) and mergePatches (patchData)", prefix, err)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

func (r *Rules) compile() ([]compiledRule, error) {
	switch r.Version {
	case Version:
	case "":
		return nil, fmt.Errorf("modifier: version is missing; add \"version: %s\"", Version)
	default:
		return nil, fmt.Errorf("modifier: version %q is not supported; write \"version: %s\"", r.Version, Version)
	}
	out := make([]compiledRule, 0, len(r.ResourceModifierRules))
	for i := range r.ResourceModifierRules {
		c, err := compileRule(&r.ResourceModifierRules[i])
		if err != nil {
			return nil, fmt.Errorf("modifier: rule %d: %w", i+1, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func compileRule(rule *Rule) (compiledRule, error) {
	var c compiledRule
	cond := rule.Conditions
	if cond.GroupResource == "" {
		return c, errors.New(`conditions.groupResource is required; write e.g. "deployments.apps", "configmaps" for the core group, or "*" for all`)
	}
	if _, err := path.Match(cond.GroupResource, ""); err != nil {
		return c, fmt.Errorf("conditions.groupResource %q is not a valid glob: %w", cond.GroupResource, err)
	}
	c.groupResource = cond.GroupResource

	if cond.ResourceNameRegex != "" {
		re, err := regexp.Compile(cond.ResourceNameRegex)
		if err != nil {
			return c, fmt.Errorf(`conditions.resourceNameRegex: %w; write a Go regular expression such as "^web-.*$"`, err)
		}
		c.nameRegex = re
	}

	for i, ns := range cond.Namespaces {
		if ns == "" {
			return c, fmt.Errorf("conditions.namespaces[%d] is empty; remove it or write a namespace name or glob", i)
		}
		if _, err := path.Match(ns, ""); err != nil {
			return c, fmt.Errorf("conditions.namespaces[%d] %q is not a valid glob: %w", i, ns, err)
		}
	}
	c.namespaces = cond.Namespaces

	if cond.LabelSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(cond.LabelSelector)
		if err != nil {
			return c, fmt.Errorf("conditions.labelSelector: %w; use matchLabels or matchExpressions with operator In, NotIn, Exists or DoesNotExist", err)
		}
		c.selector = sel
	}

	for i, m := range cond.Matches {
		ptr, err := parsePointer(m.Path)
		if err != nil {
			return c, fmt.Errorf("conditions.matches[%d].path: %w", i, err)
		}
		cm := compiledMatch{path: m.Path, pointer: ptr, text: m.Value}
		if json.Valid([]byte(m.Value)) {
			cm.isJSON = true
			if err := json.Unmarshal([]byte(m.Value), &cm.value); err != nil {
				return c, fmt.Errorf("conditions.matches[%d].value: %w", i, err)
			}
		}
		c.fieldMatches = append(c.fieldMatches, cm)
	}

	if len(rule.Patches) == 0 && len(rule.MergePatches) == 0 {
		return c, errors.New("has no patches or mergePatches; add at least one, or remove the rule")
	}
	for i := range rule.Patches {
		op, err := compileOp(&rule.Patches[i])
		if err != nil {
			return c, fmt.Errorf("patch %d: %w", i+1, err)
		}
		c.ops = append(c.ops, op)
	}
	for i, mp := range rule.MergePatches {
		data, err := compileMerge(mp.PatchData)
		if err != nil {
			return c, fmt.Errorf("merge patch %d: %w", i+1, err)
		}
		c.merges = append(c.merges, data)
	}
	return c, nil
}

func compileOp(p *JSONPatch) (compiledOp, error) {
	var c compiledOp
	switch p.Operation {
	case "add", "remove", "replace", "copy", "move", "test":
	default:
		return c, fmt.Errorf("operation %q is not supported; use one of add, remove, replace, copy, move, test", p.Operation)
	}
	pathPtr, err := parsePointer(p.Path)
	if err != nil {
		return c, fmt.Errorf("path: %w", err)
	}
	op := map[string]any{"op": p.Operation, "path": p.Path}
	c.desc = p.Operation + " " + p.Path

	switch p.Operation {
	case "copy", "move":
		if p.From == "" {
			return c, fmt.Errorf(`from is required for %s; set it to the JSON pointer of the source, e.g. "/metadata/labels/app"`, p.Operation)
		}
		fromPtr, err := parsePointer(p.From)
		if err != nil {
			return c, fmt.Errorf("from: %w", err)
		}
		op["from"] = p.From
		c.desc = fmt.Sprintf("%s %s to %s", p.Operation, p.From, p.Path)
		c.mustExist, c.mustExistPath = fromPtr, p.From
	case "add", "replace", "test":
		if p.Value == nil {
			return c, fmt.Errorf(`value is required for %s; write the JSON value as a string, e.g. value: "2" or value: "\"text\""`, p.Operation)
		}
		op["value"] = jsonValue(*p.Value)
	}
	if p.Operation == "replace" || p.Operation == "remove" {
		c.mustExist, c.mustExistPath = pathPtr, p.Path
	}

	raw, err := json.Marshal([]any{op})
	if err != nil {
		return c, fmt.Errorf("encode: %w", err)
	}
	c.patch, err = jsonpatch.DecodePatch(raw)
	if err != nil {
		return c, fmt.Errorf("decode: %w", err)
	}
	return c, nil
}

// jsonValue returns s as raw JSON when it is valid JSON, else as a JSON string.
func jsonValue(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	quoted, _ := json.Marshal(s) // marshalling a string cannot fail
	return quoted
}

func compileMerge(data string) ([]byte, error) {
	const hint = "write patchData as a YAML or JSON object, e.g. {\"metadata\": {\"annotations\": {\"a\": \"b\"}}}"
	raw, err := yaml.YAMLToJSONStrict([]byte(data))
	if err != nil {
		return nil, fmt.Errorf("patchData: %w; %s", err, hint)
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("patchData is not an object; %s", hint)
	}
	return raw, nil
}

// parsePointer splits an RFC 6901 JSON pointer into unescaped tokens.
func parsePointer(p string) ([]string, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf(`%q is not a JSON pointer; start it with "/", e.g. "/spec/replicas"`, p)
	}
	tokens := strings.Split(p[1:], "/")
	for i, t := range tokens {
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return tokens, nil
}

// lookup resolves pointer tokens in a decoded JSON document.
func lookup(doc any, tokens []string) (any, bool) {
	for _, t := range tokens {
		switch v := doc.(type) {
		case map[string]any:
			next, ok := v[t]
			if !ok {
				return nil, false
			}
			doc = next
		case []any:
			idx, err := strconv.Atoi(t)
			if err != nil || idx < 0 || idx >= len(v) || strconv.Itoa(idx) != t {
				return nil, false
			}
			doc = v[idx]
		default:
			return nil, false
		}
	}
	return doc, true
}

func (r *Rules) rules() ([]compiledRule, error) {
	if len(r.compiled) == len(r.ResourceModifierRules) {
		return r.compiled, nil
	}
	// Built without Parse (or changed since): validate on every call.
	return r.compile()
}

// Apply applies every rule whose conditions match obj, in order, and returns
// the 1-based indexes of the applied rules. Conditions are evaluated against
// the object as changed by the earlier rules. groupResource is the object's
// "resource.group" ("configmaps" for the core group). On error obj is left
// unchanged.
func (r *Rules) Apply(groupResource string, obj *unstructured.Unstructured) (applied []int, err error) {
	if r == nil {
		return nil, nil
	}
	if obj == nil {
		return nil, errors.New("modifier: nil object")
	}
	rules, err := r.rules()
	if err != nil {
		return nil, err
	}
	// cur is never mutated: each applied rule decodes a fresh map.
	cur := obj.Object
	for i := range rules {
		rule := &rules[i]
		ok, err := rule.matches(groupResource, cur)
		if err != nil {
			return nil, fmt.Errorf("modifier: rule %d: %s %s: %w", i+1, groupResource, objectName(obj), err)
		}
		if !ok {
			continue
		}
		next, err := rule.apply(cur)
		if err != nil {
			return nil, fmt.Errorf("modifier: rule %d: %s %s: %w", i+1, groupResource, objectName(obj), err)
		}
		cur = next
		applied = append(applied, i+1)
	}
	if len(applied) > 0 {
		obj.Object = cur
	}
	return applied, nil
}

func objectName(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns + "/" + obj.GetName()
	}
	return obj.GetName()
}

func (c *compiledRule) matches(groupResource string, object map[string]any) (bool, error) {
	if ok, _ := path.Match(c.groupResource, groupResource); !ok {
		return false, nil
	}
	u := unstructured.Unstructured{Object: object}
	if c.nameRegex != nil && !c.nameRegex.MatchString(u.GetName()) {
		return false, nil
	}
	if len(c.namespaces) > 0 {
		ns := u.GetNamespace()
		if ns == "" {
			return false, nil
		}
		found := false
		for _, pattern := range c.namespaces {
			if ok, _ := path.Match(pattern, ns); ok {
				found = true
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	if c.selector != nil && !c.selector.Matches(labels.Set(u.GetLabels())) {
		return false, nil
	}
	for _, m := range c.fieldMatches {
		ok, err := m.matches(object)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func (m *compiledMatch) matches(object map[string]any) (bool, error) {
	v, ok := lookup(object, m.pointer)
	if !ok {
		return false, nil
	}
	if s, isString := v.(string); isString && s == m.text {
		return true, nil
	}
	if !m.isJSON {
		return false, nil
	}
	// Round-trip through JSON so that int64 and float64 compare alike.
	raw, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("encode value at %s: %w", m.path, err)
	}
	var got any
	if err := json.Unmarshal(raw, &got); err != nil {
		return false, fmt.Errorf("decode value at %s: %w", m.path, err)
	}
	return reflect.DeepEqual(got, m.value), nil
}

func (c *compiledRule) apply(object map[string]any) (map[string]any, error) {
	doc, err := json.Marshal(object)
	if err != nil {
		return nil, fmt.Errorf("encode object: %w", err)
	}
	// Ops run one at a time so each can be checked against the document as
	// left by the previous ones; the result equals applying them as one patch.
	for i, op := range c.ops {
		if op.mustExist != nil {
			var decoded any
			if err := json.Unmarshal(doc, &decoded); err != nil {
				return nil, fmt.Errorf("patch %d (%s): decode object: %w", i+1, op.desc, err)
			}
			if _, ok := lookup(decoded, op.mustExist); !ok {
				return nil, fmt.Errorf("patch %d (%s): %s does not exist in the object", i+1, op.desc, op.mustExistPath)
			}
		}
		doc, err = op.patch.Apply(doc)
		if err != nil {
			return nil, fmt.Errorf("patch %d (%s): %w", i+1, op.desc, err)
		}
	}
	for i, m := range c.merges {
		doc, err = jsonpatch.MergePatch(doc, m)
		if err != nil {
			return nil, fmt.Errorf("merge patch %d: %w", i+1, err)
		}
	}
	var out map[string]any
	// utiljson keeps whole numbers as int64, as unstructured objects expect.
	if err := utiljson.Unmarshal(doc, &out); err != nil {
		return nil, fmt.Errorf("decode patched object: %w", err)
	}
	if out == nil {
		return nil, errors.New("patched object is not a JSON object")
	}
	return out, nil
}
