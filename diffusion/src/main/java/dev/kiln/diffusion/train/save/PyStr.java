package dev.kiln.diffusion.train.save;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Python's text forms of values, as sd-scripts writes them into LoRA metadata: {@code str(v)} (every {@code ss_*}
 * value goes through it) and {@code json.dumps(v)} with its defaults ({@code ", "} and {@code ": "} separators,
 * non-ASCII escaped). Java values map to Python ones as: null → None, Boolean → bool, Integer/Long → int,
 * Double → float, String → str, List/Collection → list, Map → dict, int[]/long[]/double[] → tuple.
 */
public final class PyStr {
    private PyStr() {}

    /** Python {@code str(v)}. */
    public static String str(Object v) {
        if (v instanceof String s) {
            return s;
        }
        return repr(v);
    }

    /** Python {@code repr(v)} (strings quoted; what {@code str} of a container shows for its elements). */
    public static String repr(Object v) {
        if (v == null) {
            return "None";
        }
        if (v instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte
                || v instanceof java.math.BigInteger) {
            return v.toString();
        }
        if (v instanceof Double d) {
            return floatRepr(d);
        }
        if (v instanceof Float f) {
            // a Java float stands for the decimal it prints as (sd-scripts parses "0.1", never a binary32 value)
            return floatRepr(Double.parseDouble(Float.toString(f)));
        }
        if (v instanceof String s) {
            return stringRepr(s);
        }
        if (v instanceof int[] a) {
            return tuple(java.util.Arrays.stream(a).mapToObj(PyStr::repr).toList());
        }
        if (v instanceof long[] a) {
            return tuple(java.util.Arrays.stream(a).mapToObj(PyStr::repr).toList());
        }
        if (v instanceof double[] a) {
            return tuple(java.util.Arrays.stream(a).mapToObj(PyStr::repr).toList());
        }
        if (v instanceof Collection<?> c) {
            StringBuilder sb = new StringBuilder("[");
            join(sb, c.iterator());
            return sb.append(']').toString();
        }
        if (v instanceof Map<?, ?> m) {
            StringBuilder sb = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append(first ? "" : ", ").append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
                first = false;
            }
            return sb.append('}').toString();
        }
        throw new IllegalArgumentException("no Python form for " + v.getClass().getName());
    }

    private static String tuple(List<String> items) {
        return items.size() == 1 ? "(" + items.get(0) + ",)" : "(" + String.join(", ", items) + ")";
    }

    private static void join(StringBuilder sb, Iterator<?> it) {
        boolean first = true;
        while (it.hasNext()) {
            sb.append(first ? "" : ", ").append(repr(it.next()));
            first = false;
        }
    }

    /**
     * Python {@code repr(float)}: the shortest decimal that reads back as the same double; plain notation when the
     * decimal exponent is in [-4, 16), else {@code d.ddde±XX}; {@code nan}, {@code inf}, {@code -0.0}.
     */
    public static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        String sign = (d < 0 || (d == 0 && 1 / d < 0)) ? "-" : "";
        if (d == 0) {
            return sign + "0.0";
        }
        BigDecimal shortest = shortestDecimal(Math.abs(d));
        String digits = shortest.unscaledValue().toString();
        int exponent = digits.length() - 1 - shortest.scale(); // decimal exponent of the first digit
        StringBuilder out = new StringBuilder(sign);
        if (exponent >= -4 && exponent < 16) {
            if (exponent >= 0) {
                if (digits.length() <= exponent + 1) {
                    out.append(digits).append("0".repeat(exponent + 1 - digits.length())).append(".0");
                } else {
                    out.append(digits, 0, exponent + 1).append('.').append(digits, exponent + 1, digits.length());
                }
            } else {
                out.append("0.").append("0".repeat(-exponent - 1)).append(digits);
            }
        } else {
            out.append(digits.charAt(0));
            if (digits.length() > 1) {
                out.append('.').append(digits, 1, digits.length());
            }
            out.append('e').append(exponent < 0 ? '-' : '+');
            int e = Math.abs(exponent);
            out.append(e < 10 ? "0" : "").append(e);
        }
        return out.toString();
    }

    /**
     * The shortest decimal (fewest significant digits) that parses back to {@code x > 0}; among those, the one
     * closest to {@code x}. The nearest n-digit decimal is not always inside the round-trip interval (it is
     * asymmetric at powers of two), so both neighbours are tried.
     */
    private static BigDecimal shortestDecimal(double x) {
        BigDecimal exact = new BigDecimal(x);
        for (int n = 1; n <= 17; n++) {
            BigDecimal down = exact.round(new MathContext(n, RoundingMode.FLOOR));
            BigDecimal up = exact.round(new MathContext(n, RoundingMode.CEILING));
            boolean downOk = Double.parseDouble(down.toString()) == x;
            boolean upOk = Double.parseDouble(up.toString()) == x;
            if (downOk && upOk) {
                int c = exact.subtract(down).compareTo(up.subtract(exact));
                BigDecimal pick = c < 0 ? down : c > 0 ? up : exact.round(new MathContext(n, RoundingMode.HALF_EVEN));
                return pick.stripTrailingZeros();
            }
            if (downOk) {
                return down.stripTrailingZeros();
            }
            if (upOk) {
                return up.stripTrailingZeros();
            }
        }
        return exact.round(MathContext.DECIMAL64).stripTrailingZeros(); // unreachable: 17 digits always round-trip
    }

    /** Python's repr of a str: single quotes unless it holds ' and no ", with the usual escapes. */
    static String stringRepr(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder sb = new StringBuilder().append(quote);
        s.codePoints().forEach(cp -> {
            if (cp == quote || cp == '\\') {
                sb.append('\\').appendCodePoint(cp);
            } else if (cp == '\n') {
                sb.append("\\n");
            } else if (cp == '\r') {
                sb.append("\\r");
            } else if (cp == '\t') {
                sb.append("\\t");
            } else if (cp < 0x20 || cp == 0x7f) {
                sb.append(String.format("\\x%02x", cp));
            } else {
                sb.appendCodePoint(cp);
            }
        });
        return sb.append(quote).toString();
    }

    /**
     * Python {@code json.dumps(v)} with default options. Map keys are written with {@code str} (Python turns int keys
     * into strings the same way); arrays and collections become JSON arrays.
     */
    public static String json(Object v) {
        StringBuilder sb = new StringBuilder();
        writeJson(sb, v);
        return sb.toString();
    }

    private static void writeJson(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Boolean b) {
            sb.append(b ? "true" : "false");
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (Double.isNaN(d)) {
                sb.append("NaN");
            } else if (Double.isInfinite(d)) {
                sb.append(d > 0 ? "Infinity" : "-Infinity");
            } else {
                sb.append(repr(v));
            }
        } else if (v instanceof Number) {
            sb.append(repr(v));
        } else if (v instanceof String s) {
            jsonString(sb, s);
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append(first ? "" : ", ");
                jsonString(sb, e.getKey() instanceof String k ? k : str(e.getKey()));
                sb.append(": ");
                writeJson(sb, e.getValue());
                first = false;
            }
            sb.append('}');
        } else if (v instanceof Collection<?> c) {
            jsonArray(sb, c);
        } else if (v instanceof int[] a) {
            jsonArray(sb, java.util.Arrays.stream(a).boxed().toList());
        } else if (v instanceof long[] a) {
            jsonArray(sb, java.util.Arrays.stream(a).boxed().toList());
        } else if (v instanceof double[] a) {
            jsonArray(sb, java.util.Arrays.stream(a).boxed().toList());
        } else {
            throw new IllegalArgumentException("no JSON form for " + v.getClass().getName());
        }
    }

    private static void jsonArray(StringBuilder sb, Collection<?> c) {
        sb.append('[');
        boolean first = true;
        for (Object o : c) {
            sb.append(first ? "" : ", ");
            writeJson(sb, o);
            first = false;
        }
        sb.append(']');
    }

    /** ensure_ascii: only printable ASCII stays as is; UTF-16 code units above it become backslash-u escapes. */
    private static void jsonString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
