# Arbiter core library: building MODIFY patches.
#
#   A MODIFY finding's "patch" is a list of RFC 6902 operations applied to
#   input.action.parameters. These helpers build the usual ones.
package aarm

# The value a redacted parameter is replaced with.
redacted := "[REDACTED]"

# pointer(name): the RFC 6901 JSON Pointer of the top-level parameter `name`:
# "/" followed by the name with "~" written "~0" and "/" written "~1"
# (pointer("a/b~c") == "/a~1b~0c").
pointer(name) := concat("", ["/", replace(replace(name, "~", "~0"), "/", "~1")])

# redact(names): "replace" operations setting each named top-level parameter that is
# present (whatever its value, null included) to "[REDACTED]", in name order.
# Names that are not present, or not strings, give no operation, so the result may
# be empty. names is an array or set of strings (or one string).
#   aarm.redact(["body", "cc"]) with parameters {"body": "...", "to": "x"} ==
#     [{"op": "replace", "path": "/body", "value": "[REDACTED]"}]
redact(names) := [{"op": "replace", "path": pointer(n), "value": redacted} |
	some n in sort({x | some x in path_set(names); is_string(x)})
	has_key(params, n)
]
