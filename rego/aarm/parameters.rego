# Arbiter core library: parameter constraints ("policy as data", AARM R3/R4).
#
#   A catalogue entry (data.aarm.catalog.tools[tool]) may constrain the action's
#   parameters:
#
#     "db.query": {
#       ...,
#       "parameters": {
#         "limit": {"type": "integer", "minimum": 0, "maximum": 100, "default": 100, "on_violation": "MODIFY"},
#         "sql":   {"type": "string", "max_length": 10000}
#       },
#       "additional_parameters": true
#     }
#
#   The constraints of one parameter (every key optional):
#     type          "string" | "number" | "integer" | "boolean" | "array" | "object"
#     required      true: the parameter must be present and not null
#     minimum, maximum   numbers; the value must be a number within them
#     pattern       a regular expression (RE2) the whole string must match: anchor it
#                   yourself (^...$); the value must be a string
#     allowlist     the allowed values (an array value: each of its items)
#     blocklist     the forbidden values (an array value: none of its items);
#                   strings also compared case-insensitively, surrounding blanks ignored
#     max_length    the longest string (in characters)
#     max_items     the longest array
#     default       a missing parameter is added with this value (MODIFY)
#     on_violation  "DENY" (default) or "MODIFY"
#     kind          what the value is (docs/detection.md section 1.1): "email", "url",
#                   "host", "channel", "principal", "path", "account", "payee",
#                   "amount", "currency", "sql", "command" or "text"; read by the
#                   service's flow analysis and by rules, never a constraint
#     destination   boolean: the value says where data, money or access goes
#     description   free text, ignored
#
#   The keys of "parameters" are parameter names or paths into them: "to",
#   "fields.payroll_iban" (an object member), "attendees[].email" (each element of
#   an array). A key with a "." or a "[" is a path, and may say only kind,
#   destination and description: the constraints (type, required, default, ...)
#   apply to top-level names only. A path key names its top-level parameter for
#   "additional_parameters": false ("fields.payroll_iban" lists "fields").
#
#   With "on_violation": "MODIFY" a number outside [minimum, maximum] is replaced by
#   the bound it crossed, a string over max_length is truncated, an array over
#   max_items is cut; every other violation (type, pattern, allowlist, blocklist, a
#   required parameter missing or null, a bound that cannot be checked because the
#   value has the wrong type) is a DENY whatever on_violation says. The replaced value
#   is checked again against pattern, allowlist and blocklist, and a violation there
#   is a DENY too.
#
#   "additional_parameters": false on the entry makes every parameter that is not
#   listed under "parameters" a DENY.
#
#   When the value breaks "type", its other constraints (minimum, pattern, ...) are
#   not checked: the type violation says it all.
#
#   Fail closed: a malformed constraint (an unknown key, a maximum that is not a
#   number, a pattern that is not a valid regular expression, minimum above maximum,
#   a constraint that cannot apply to the declared type, a default that breaks the
#   parameter's own constraints, a kind that is not one of the kinds, a destination
#   that is not a boolean, a path key with a constraint, ...) is reported by
#   parameter_problems; the rule
#   aarm.rules.catalog turns it into a forbidden DENY naming the catalogue entry.
#   parameter_violations assumes parameter_problems is empty.
package aarm

# The keys one parameter's constraints may hold.
constraint_keys := {
	"type", "required", "minimum", "maximum", "pattern", "allowlist", "blocklist",
	"max_length", "max_items", "default", "on_violation", "description", "kind", "destination",
}

# The keys a path key ("fields.payroll_iban", "attendees[].email") may hold.
path_keys := {"kind", "destination", "description"}

# The kinds of value a parameter may be (docs/detection.md section 1.1).
parameter_kinds := {
	"email", "url", "host", "channel", "principal", "path", "account", "payee",
	"amount", "currency", "sql", "command", "text",
}

# path_key(name): a key of "parameters" that is a path into a parameter, not a name.
path_key(name) if contains(name, ".")

path_key(name) if contains(name, "[")

# top_name(name): the top-level parameter a key describes ("fields" for "fields.x").
top_name(name) := split(replace(name, "[", "."), ".")[0]

# parameter_kind(entry, name): the kind the entry's parameters give `name`, when a valid one.
parameter_kind(entry, name) := k if {
	k := parameter_specs(entry)[name].kind
	is_string(k)
	k in parameter_kinds
}

# The values of "type".
parameter_types := {"string", "number", "integer", "boolean", "array", "object"}

# The types each type-specific constraint can apply to ("type", when given, must be one).
constraint_types := {
	"minimum": {"number", "integer"},
	"maximum": {"number", "integer"},
	"pattern": {"string"},
	"max_length": {"string"},
	"max_items": {"array"},
}

# type_matches(t, v): v is of the parameter type t.
type_matches("string", v) if is_string(v)

type_matches("number", v) if is_number(v)

type_matches("integer", v) if whole(v)

type_matches("boolean", v) if is_boolean(v)

type_matches("array", v) if is_array(v)

type_matches("object", v) if is_object(v)

# count_number(x): x is a whole number of at least 0 (a max_length, a max_items).
count_number(x) if {
	whole(x)
	x >= 0
}

# parameter_specs(entry): the entry's "parameters" when it is an object, else {}.
parameter_specs(entry) := s if {
	s := entry.parameters
	is_object(s)
} else := {}

# ---------------------------------------------------------------------------
# Malformed constraints (a catalogue bug): parameter_problems(entry).
# ---------------------------------------------------------------------------

# parameter_problems(entry): what is wrong with the entry's parameter constraints,
# a set of strings; empty when they are well formed (or absent).
parameter_problems(entry) := ({p | some c in ["parameters", "additional_parameters"]; p := entry_problem(c, entry)} | {p |
	some name, spec in parameter_specs(entry)
	some problem in spec_problems(spec)
	p := concat("", ["parameter ", name, ": ", problem])
}) | {p |
	some name, spec in parameter_specs(entry)
	path_key(name)
	p := path_problem(name, spec)
}

# path_problem(name, spec): a path key holds a constraint (constraints are for top-level names only).
path_problem(name, spec) := concat("", [
	"parameter ", name, ": a path may say only kind, destination and description, not ",
	concat(", ", extra), " (constraints apply to top-level parameter names)",
]) if {
	is_object(spec)
	extra := sort({k | some k, _ in spec; k in constraint_keys; not k in path_keys})
	count(extra) > 0
}

entry_problem("parameters", entry) := "parameters is not an object" if {
	has_key(entry, "parameters")
	not object_field(entry, "parameters")
}

entry_problem("additional_parameters", entry) := "additional_parameters is not a boolean" if {
	has_key(entry, "additional_parameters")
	not boolean_field(entry, "additional_parameters")
}

# spec_problems(spec): what is wrong with one parameter's constraints (a set of strings).
spec_problems(spec) := {"its constraints are not an object"} if {
	not is_object(spec)
} else := {p | some c in spec_checks; p := spec_problem(c, spec)}

spec_checks := [
	"keys", "type", "required", "minimum", "maximum", "bounds", "integer_bounds",
	"pattern", "allowlist", "blocklist", "max_length", "max_items", "on_violation",
	"applies", "default_required", "default_null", "default_value", "kind", "destination",
]

spec_problem("keys", spec) := concat("", ["unknown constraint ", concat(", ", unknown)]) if {
	unknown := sort({k | some k, _ in spec; not k in constraint_keys})
	count(unknown) > 0
}

spec_problem("type", spec) := "type is not one of string, number, integer, boolean, array, object" if {
	has_key(spec, "type")
	not type_field(spec)
}

spec_problem("required", spec) := "required is not a boolean" if {
	has_key(spec, "required")
	not boolean_field(spec, "required")
}

spec_problem("minimum", spec) := "minimum is not a number" if {
	has_key(spec, "minimum")
	not number_field(spec, "minimum")
}

spec_problem("maximum", spec) := "maximum is not a number" if {
	has_key(spec, "maximum")
	not number_field(spec, "maximum")
}

spec_problem("bounds", spec) := "minimum is above maximum" if {
	number_field(spec, "minimum")
	number_field(spec, "maximum")
	spec.minimum > spec.maximum
}

spec_problem("integer_bounds", spec) := "minimum and maximum must be whole numbers for type integer" if {
	spec.type == "integer"
	some k in ["minimum", "maximum"]
	number_field(spec, k)
	not whole(spec[k])
}

spec_problem("pattern", spec) := "pattern is not a valid regular expression" if {
	has_key(spec, "pattern")
	not pattern_field(spec)
}

spec_problem("allowlist", spec) := "allowlist is not an array" if {
	has_key(spec, "allowlist")
	not array_field(spec, "allowlist")
}

spec_problem("blocklist", spec) := "blocklist is not an array" if {
	has_key(spec, "blocklist")
	not array_field(spec, "blocklist")
}

spec_problem("max_length", spec) := "max_length is not a whole number of at least 0" if {
	has_key(spec, "max_length")
	not count_field(spec, "max_length")
}

spec_problem("max_items", spec) := "max_items is not a whole number of at least 0" if {
	has_key(spec, "max_items")
	not count_field(spec, "max_items")
}

spec_problem("on_violation", spec) := "on_violation is not DENY or MODIFY" if {
	has_key(spec, "on_violation")
	not on_violation_field(spec)
}

spec_problem("applies", spec) := concat("", [concat(", ", bad), " cannot apply to type ", spec.type]) if {
	type_field(spec)
	bad := sort({k | some k, types in constraint_types; has_key(spec, k); not spec.type in types})
	count(bad) > 0
}

spec_problem("default_required", spec) := "default cannot be given for a required parameter" if {
	has_key(spec, "default")
	spec.required == true
}

spec_problem("default_null", spec) := "default is null" if {
	has_key(spec, "default")
	spec["default"] == null
}

spec_problem("default_value", spec) := "default does not satisfy the parameter's own constraints" if {
	has_key(spec, "default")
	count(value_violations(spec, spec["default"])) > 0
}

spec_problem("kind", spec) := concat("", ["kind is not one of ", concat(", ", sort(parameter_kinds))]) if {
	has_key(spec, "kind")
	not kind_field(spec)
}

spec_problem("destination", spec) := "destination is not a boolean" if {
	has_key(spec, "destination")
	not boolean_field(spec, "destination")
}

kind_field(spec) if {
	is_string(spec.kind)
	spec.kind in parameter_kinds
}

object_field(obj, k) if is_object(obj[k])

array_field(obj, k) if is_array(obj[k])

count_field(obj, k) if count_number(obj[k])

type_field(spec) if {
	is_string(spec.type)
	spec.type in parameter_types
}

pattern_field(spec) if {
	is_string(spec.pattern)
	regex.is_valid(spec.pattern)
}

on_violation_field(spec) if spec.on_violation in {"DENY", "MODIFY"}

# ---------------------------------------------------------------------------
# Violations: parameter_violations(entry, params).
# ---------------------------------------------------------------------------

# parameter_violations(entry, params): every violation of the entry's constraints by
# params (the action's parameters; null counts as {}), a set of objects
#   {"parameter": name, "constraint": "maximum", "effect": "DENY" | "MODIFY",
#    "message": "parameter limit is above its maximum 100",
#    "modification": "lowered to its maximum",                        # MODIFY only
#    "patch": [{"op": "replace", "path": "/limit", "value": 100}]}   # MODIFY only
# A MODIFY patch is a "replace" at the parameter's JSON Pointer, or an "add" for a
# missing parameter with a default. The message names the parameter and the
# constraint, never the parameter's value.
# Call it only when parameter_problems(entry) is empty.
parameter_violations(entry, params) := {{
	"constraint": "parameters",
	"effect": "DENY",
	"message": "the parameters are not an object, so the parameter constraints cannot be checked",
	"parameter": "",
}} if {
	params != null
	not is_object(params)
	constrains(entry)
} else := {object.union(v, {"parameter": name}) |
	ps := object_or_empty(params)
	some name, spec in parameter_specs(entry)
	not path_key(name)
	some v in spec_violations(name, spec, ps)
} | {unlisted(name) |
	entry.additional_parameters == false
	some name, _ in object_or_empty(params)
	not name in listed_names(entry)
}

# listed_names(entry): the top-level parameter names the entry's parameters describe.
listed_names(entry) := {top_name(k) | some k, _ in parameter_specs(entry)}

# constrains(entry): the entry says anything about parameters.
constrains(entry) if has_key(entry, "parameters")

constrains(entry) if has_key(entry, "additional_parameters")

object_or_empty(x) := x if {
	is_object(x)
} else := {}

unlisted(name) := {
	"constraint": "additional_parameters",
	"effect": "DENY",
	"message": concat("", ["parameter ", name, " is not listed in the catalogue entry, which allows no additional parameters"]),
	"parameter": name,
}

# spec_violations(name, spec, params): the violations of one parameter's constraints.
spec_violations(name, spec, params) := {deny_violation(name, "required", "is required but missing")} if {
	not has_key(params, name)
	spec.required == true
} else := {{
	"constraint": "default",
	"effect": "MODIFY",
	"message": concat("", ["parameter ", name, " is missing"]),
	"modification": concat("", ["set to its default ", json.marshal(spec["default"])]),
	"patch": [{"op": "add", "path": pointer(name), "value": spec["default"]}],
}} if {
	not has_key(params, name)
	has_key(spec, "default")
} else := set() if {
	not has_key(params, name)
} else := present_violations(name, spec, params[name])

# present_violations(name, spec, v): the violations of a parameter that is present
# with the value v; a MODIFY violation carries its "replace" patch, and the replaced
# value is checked again (pattern, allowlist, blocklist).
present_violations(name, spec, v) := ({message_of(name, x) | some x in vs} | required_null) | rechecked if {
	vs := value_violations(spec, v)
	required_null := {deny_violation(name, "required", "is required but null") |
		v == null
		spec.required == true
	}
	rechecked := {message_of(name, object.union(x, {"text": concat("", [x.text, " once modified to fit its bounds"])})) |
		some m in vs
		m.effect == "MODIFY"
		some c in ["pattern", "allowlist", "blocklist"]
		not value_violation(c, spec, v)
		x := value_violation(c, spec, m.value)
	}
}

message_of(name, x) := object.union(
	{"constraint": x.constraint, "effect": x.effect, "message": concat("", ["parameter ", name, " ", x.text])},
	patch_of(name, x),
)

patch_of(name, x) := {
	"modification": x.done,
	"patch": [{"op": "replace", "path": pointer(name), "value": x.value}],
} if {
	x.effect == "MODIFY"
} else := {}

deny_violation(name, constraint, text) := {
	"constraint": constraint,
	"effect": "DENY",
	"message": concat("", ["parameter ", name, " ", text]),
}

# value_violations(spec, v): the constraints of spec that the value v breaks, a set of
#   {"constraint", "effect", "text"} (text follows "parameter NAME "), with "value"
#   (the replacement) and "done" (what the replacement does) on a MODIFY. Not
#   "required": v is present.
value_violations(spec, v) := {x | some c in value_checks; x := value_violation(c, spec, v)}

value_checks := ["type", "minimum", "maximum", "pattern", "allowlist", "blocklist", "max_length", "max_items"]

value_violation("type", spec, v) := deny_text("type", concat("", ["must be of type ", spec.type])) if {
	type_violated(spec, v)
}

value_violation("minimum", spec, v) := x if {
	number_field(spec, "minimum")
	not type_violated(spec, v)
	x := below_minimum(spec, v)
}

value_violation("maximum", spec, v) := x if {
	number_field(spec, "maximum")
	not type_violated(spec, v)
	x := above_maximum(spec, v)
}

value_violation("pattern", spec, v) := x if {
	pattern_field(spec)
	not type_violated(spec, v)
	x := pattern_mismatch(spec, v)
}

value_violation("allowlist", spec, v) := x if {
	array_field(spec, "allowlist")
	not type_violated(spec, v)
	not allowed(spec.allowlist, v)
	x := deny_text("allowlist", list_text(v, "is not in its allowlist", "holds a value that is not in its allowlist"))
}

value_violation("blocklist", spec, v) := x if {
	array_field(spec, "blocklist")
	not type_violated(spec, v)
	blocked(spec.blocklist, v)
	x := deny_text("blocklist", list_text(v, "is in its blocklist", "holds a value that is in its blocklist"))
}

value_violation("max_length", spec, v) := x if {
	count_field(spec, "max_length")
	not type_violated(spec, v)
	x := too_long(spec, v)
}

value_violation("max_items", spec, v) := x if {
	count_field(spec, "max_items")
	not type_violated(spec, v)
	x := too_many(spec, v)
}

type_violated(spec, v) if {
	type_field(spec)
	not type_matches(spec.type, v)
}

below_minimum(spec, v) := deny_text("minimum", "is not a number, so its minimum cannot be checked") if {
	not is_number(v)
} else := bound_text(spec, "minimum", concat("", ["is below its minimum ", json.marshal(spec.minimum)]), "raised to its minimum", spec.minimum) if {
	v < spec.minimum
}

above_maximum(spec, v) := deny_text("maximum", "is not a number, so its maximum cannot be checked") if {
	not is_number(v)
} else := bound_text(spec, "maximum", concat("", ["is above its maximum ", json.marshal(spec.maximum)]), "lowered to its maximum", spec.maximum) if {
	v > spec.maximum
}

pattern_mismatch(spec, v) := deny_text("pattern", "is not a string, so it cannot match its pattern") if {
	not is_string(v)
} else := deny_text("pattern", "does not match its pattern") if {
	not regex.match(spec.pattern, v)
}

too_long(spec, v) := deny_text("max_length", "is not a string, so its max_length cannot be checked") if {
	not is_string(v)
} else := bound_text(spec, "max_length", concat("", ["is longer than its max_length ", json.marshal(spec.max_length)]), "truncated to its max_length", substring(v, 0, spec.max_length)) if {
	count(v) > spec.max_length
}

too_many(spec, v) := deny_text("max_items", "is not an array, so its max_items cannot be checked") if {
	not is_array(v)
} else := bound_text(spec, "max_items", concat("", ["has more items than its max_items ", json.marshal(spec.max_items)]), "cut to its max_items", array.slice(v, 0, spec.max_items)) if {
	count(v) > spec.max_items
}

deny_text(constraint, text) := {"constraint": constraint, "effect": "DENY", "text": text}

# bound_text: a crossed bound; with on_violation MODIFY it is a MODIFY whose
# replacement is `value` (the bound, the truncated string, the cut array), `done`
# saying what the replacement does.
bound_text(spec, constraint, text, done, value) := {
	"constraint": constraint,
	"effect": "MODIFY",
	"done": done,
	"text": text,
	"value": value,
} if {
	spec.on_violation == "MODIFY"
} else := deny_text(constraint, text)

# allowed(list, v): v is in the list; an array value: each of its items is.
allowed(list, v) if {
	is_array(v)
	every x in v {
		x in list
	}
}

allowed(list, v) if {
	not is_array(v)
	v in list
}

# blocked(list, v): v is in the list; an array value: any of its items is. Strings
# also match case-insensitively and without surrounding blanks.
blocked(list, v) if {
	is_array(v)
	some x in v
	blocked_value(list, x)
}

blocked(list, v) if {
	not is_array(v)
	blocked_value(list, v)
}

blocked_value(list, x) if x in list

blocked_value(list, x) if {
	is_string(x)
	some b in list
	is_string(b)
	lower(trim_space(b)) == lower(trim_space(x))
}

list_text(v, _, array_text) := array_text if is_array(v)

list_text(v, text, _) := text if not is_array(v)
