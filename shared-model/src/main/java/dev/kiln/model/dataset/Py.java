package dev.kiln.model.dataset;

import java.util.ArrayList;
import java.util.List;

/** Python {@code str} semantics that sd-scripts relies on: literal split, {@code strip()}, universal newlines. */
final class Py {
    private Py() {}

    /** {@code str.isspace()} for one char: Java's whitespace plus the no-break spaces and NEL that Python strips. */
    static boolean isSpace(char c) {
        return Character.isWhitespace(c) || c == '\u00a0' || c == '\u2007' || c == '\u202f' || c == '\u0085';
    }

    /** {@code str.strip()} with no argument. */
    static String strip(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && isSpace(s.charAt(start))) {
            start++;
        }
        while (end > start && isSpace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(start, end);
    }

    /** {@code str.split(sep)}: literal separator, empty pieces kept (also leading and trailing ones). */
    static List<String> split(String s, String sep) {
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        List<String> parts = new ArrayList<>();
        int from = 0;
        int at;
        while ((at = s.indexOf(sep, from)) >= 0) {
            parts.add(s.substring(from, at));
            from = at + sep.length();
        }
        parts.add(s.substring(from));
        return parts;
    }

    /** {@code str.splitlines()}-like split of file text as Python's text mode reads it: \r\n, \r and \n end a line. */
    static List<String> readLines(String text) {
        String normalized = text.indexOf('\r') < 0 ? text : text.replace("\r\n", "\n").replace('\r', '\n');
        List<String> lines = split(normalized, "\n");
        // readlines() yields no trailing empty line after a final newline
        if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
            lines.remove(lines.size() - 1);
        }
        return lines;
    }

    /** Python {@code "a" < "b"} on str: code point order (Java's compareTo is UTF-16 order). */
    static int compareCodePoints(String a, String b) {
        int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; i++) {
            char ca = a.charAt(i);
            char cb = b.charAt(i);
            if (ca != cb) {
                // UTF-16 order differs from code point order only where a surrogate meets U+E000..U+FFFF
                if (Character.isSurrogate(ca) || Character.isSurrogate(cb)) {
                    return Integer.compare(a.codePointAt(i), b.codePointAt(i));
                }
                return Character.compare(ca, cb);
            }
        }
        return Integer.compare(a.length(), b.length());
    }
}
