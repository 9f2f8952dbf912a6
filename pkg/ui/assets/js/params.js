// Run parameters as docs/execution.md encodes them: a pipeline IR input's value is the
// string itself for STRING, the artifact's URI for ARTIFACT, and JSON for every other
// type; a KFP v1 workflow's parameters (no type) are strings. check tells the user early;
// the server checks the same and decides.

// As Go's strconv.ParseInt and ParseFloat, which the server uses, read them.
const INTEGER = /^[+-]?\d+$/;
const DOUBLE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

// check returns why value is not a valid encoding of type, or '' when it is.
export function check(type, value) {
  switch (type) {
    case 'NUMBER_INTEGER':
      return INTEGER.test(value) ? '' : 'an integer, such as 7';
    case 'NUMBER_DOUBLE':
      return DOUBLE.test(value) && Number.isFinite(Number(value)) ? '' : 'a number, such as 0.5';
    case 'BOOLEAN':
      return value === 'true' || value === 'false' ? '' : 'true or false';
    case 'LIST':
      return isJSON(value, Array.isArray) ? '' : 'a JSON list, such as ["a", "b"]';
    case 'STRUCT':
      return isJSON(value, (v) => v !== null && typeof v === 'object' && !Array.isArray(v)) ? '' : 'a JSON object, such as {"k": 1}';
    default:
      return '';
  }
}

function isJSON(value, ok) {
  try {
    return ok(JSON.parse(value));
  } catch {
    return false;
  }
}

// typeName is how a form labels a type.
export function typeName(type) {
  return {
    STRING: 'string', NUMBER_INTEGER: 'integer', NUMBER_DOUBLE: 'double', BOOLEAN: 'boolean',
    LIST: 'list (JSON)', STRUCT: 'struct (JSON)', ARTIFACT: 'artifact URI',
  }[type] || 'string';
}
