package dev.kiln.diffusion.tokenizer;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jsoup.nodes.Entities;

/**
 * The text cleanup CLIP's tokenizer applies before BPE: the parts of ftfy's {@code fix_text} (default settings)
 * that matter for prompts, then whitespace collapsing and lower-casing.
 *
 * <p>Steps follow ftfy 6.1 as used by transformers' CLIPTokenizer: HTML entities (with {@code ;}, repeatedly, off
 * from the first line containing {@code <}), terminal escapes, UTF-8 mojibake read as Windows-1252, C1 controls as
 * Windows-1252, Latin ligatures, full/half-width forms, curly quotes, line breaks, control characters, NFC.
 */
public final class ClipTextCleaner {

    private static final Pattern HTML_ENTITY = Pattern.compile("&#?[0-9A-Za-z]{1,24};");
    private static final Pattern TERMINAL_ESCAPE = Pattern.compile("\u001b\\[((?:\\d|;)*)([a-zA-Z])");
    private static final Pattern LINE_BREAK = Pattern.compile("\r\n|[\r\u2028\u2029\u0085]");
    private static final Map<Character, String> LIGATURES = Map.ofEntries(
            Map.entry('\u0132', "IJ"), Map.entry('\u0133', "ij"), Map.entry('\u0149', "\u02bcn"),
            Map.entry('\u01f1', "DZ"), Map.entry('\u01f2', "Dz"), Map.entry('\u01f3', "dz"),
            Map.entry('\u01c4', "D\u017d"), Map.entry('\u01c5', "D\u017e"), Map.entry('\u01c6', "d\u017e"),
            Map.entry('\u01c7', "LJ"), Map.entry('\u01c8', "Lj"), Map.entry('\u01c9', "lj"),
            Map.entry('\u01ca', "NJ"), Map.entry('\u01cb', "Nj"), Map.entry('\u01cc', "nj"),
            Map.entry('\ufb00', "ff"), Map.entry('\ufb01', "fi"), Map.entry('\ufb02', "fl"),
            Map.entry('\ufb03', "ffi"), Map.entry('\ufb04', "ffl"), Map.entry('\ufb05', "\u017ft"),
            Map.entry('\ufb06', "st"));

    /** Windows-1252 as ftfy reads it: the five undefined bytes stand for the C1 control of the same value. */
    private static final char[] CP1252 = new char[256];
    private static final Map<Character, Integer> CP1252_BYTE = new HashMap<>();

    static {
        Charset cp1252 = Charset.forName("windows-1252");
        for (int b = 0; b < 256; b++) {
            String s = new String(new byte[] {(byte) b}, cp1252);
            char c = s.length() == 1 && s.charAt(0) != '\ufffd' ? s.charAt(0) : (char) b;
            CP1252[b] = c;
            CP1252_BYTE.put(c, b);
        }
    }

    private ClipTextCleaner() {
    }

    /** The string CLIP's pre-tokenizer sees: fixed text, whitespace runs collapsed to one space, trimmed, lower case. */
    public static String normalize(String text) {
        String fixed = fixText(text);
        StringBuilder out = new StringBuilder(fixed.length());
        boolean pendingSpace = false;
        for (int i = 0; i < fixed.length(); ) {
            int cp = fixed.codePointAt(i);
            i += Character.charCount(cp);
            if (isPythonWhitespace(cp)) {
                pendingSpace = out.length() > 0;
            } else {
                if (pendingSpace) {
                    out.append(' ');
                    pendingSpace = false;
                }
                out.appendCodePoint(cp);
            }
        }
        return out.toString().toLowerCase(Locale.ROOT);
    }

    /** Python's {@code str.isspace}: Unicode separators plus the ASCII and C1 whitespace controls. */
    static boolean isPythonWhitespace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85;
    }

    /** ftfy-style repair, line by line; each line is fixed repeatedly until nothing changes. */
    static String fixText(String text) {
        StringBuilder out = new StringBuilder(text.length());
        boolean unescapeHtml = true;
        int pos = 0;
        while (pos < text.length()) {
            int lineEnd = text.indexOf('\n', pos) + 1;
            if (lineEnd == 0) {
                lineEnd = text.length();
            }
            String segment = text.substring(pos, lineEnd);
            // ftfy stops decoding entities from the first line that looks like HTML
            if (segment.indexOf('<') >= 0) {
                unescapeHtml = false;
            }
            for (int round = 0; round < 16; round++) {
                String fixed = fixSegment(segment, unescapeHtml);
                if (fixed.equals(segment)) {
                    break;
                }
                segment = fixed;
            }
            out.append(segment);
            pos = lineEnd;
        }
        return out.toString();
    }

    private static String fixSegment(String s, boolean unescapeHtml) {
        if (unescapeHtml && s.indexOf('&') >= 0) {
            s = unescapeHtmlEntities(s);
        }
        s = TERMINAL_ESCAPE.matcher(s).replaceAll("");
        s = fixUtf8Mojibake(s);
        s = fixC1Controls(s);
        s = replaceChars(s);
        s = LINE_BREAK.matcher(s).replaceAll("\n");
        s = removeControlChars(s);
        return Normalizer.normalize(s, Normalizer.Form.NFC);
    }

    private static String unescapeHtmlEntities(String s) {
        Matcher m = HTML_ENTITY.matcher(s);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(decodeEntity(m.group())));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** One {@code &...;} entity, or the entity text itself when it is not one. */
    private static String decodeEntity(String entity) {
        String body = entity.substring(1, entity.length() - 1);
        if (body.startsWith("#")) {
            return decodeNumericEntity(entity, body.substring(1));
        }
        String value = Entities.getByName(body);
        if (!value.isEmpty()) {
            return value;
        }
        // ftfy also decodes upper-cased lower-case entity names: &EACUTE; -> É
        String lower = body.toLowerCase(Locale.ROOT);
        if (body.equals(body.toUpperCase(Locale.ROOT)) && !lower.equals(body)) {
            value = Entities.getByName(lower);
            if (!value.isEmpty()) {
                return value.toUpperCase(Locale.ROOT);
            }
        }
        return entity;
    }

    /** Numeric character references as Python's {@code html.unescape} reads them. */
    private static String decodeNumericEntity(String entity, String number) {
        int codePoint;
        try {
            boolean hex = number.startsWith("x") || number.startsWith("X");
            long v = hex ? Long.parseLong(number.substring(1), 16) : Long.parseLong(number, 10);
            codePoint = v > 0x10FFFF ? -1 : (int) v;
        } catch (NumberFormatException e) {
            return entity;
        }
        if (codePoint >= 0x80 && codePoint <= 0x9f) {
            return String.valueOf(CP1252[codePoint]);
        }
        if (codePoint <= 0 || (codePoint >= 0xD800 && codePoint <= 0xDFFF)) {
            return "\ufffd";
        }
        return new String(Character.toChars(codePoint));
    }

    /**
     * Repairs runs that are UTF-8 bytes decoded as Windows-1252 ({@code cafÃ©} → {@code café}): a lead-byte character
     * followed by the right number of continuation-byte characters that together form valid UTF-8.
     */
    private static String fixUtf8Mojibake(String s) {
        StringBuilder out = null;
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        int i = 0;
        while (i < s.length()) {
            int lead = byteOf(s.charAt(i));
            int length = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3
                    : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
            if (length > 0 && i + length <= s.length()) {
                byte[] bytes = new byte[length];
                bytes[0] = (byte) lead;
                boolean continuation = true;
                for (int k = 1; k < length && continuation; k++) {
                    int b = byteOf(s.charAt(i + k));
                    continuation = b >= 0x80 && b <= 0xBF;
                    bytes[k] = (byte) b;
                }
                if (continuation) {
                    try {
                        CharBuffer decoded = utf8.decode(ByteBuffer.wrap(bytes));
                        if (out == null) {
                            out = new StringBuilder(s.length()).append(s, 0, i);
                        }
                        out.append(decoded);
                        i += length;
                        continue;
                    } catch (CharacterCodingException notUtf8) {
                        // not mojibake: keep the characters
                    }
                }
            }
            if (out != null) {
                out.append(s.charAt(i));
            }
            i++;
        }
        return out == null ? s : out.toString();
    }

    private static int byteOf(char c) {
        Integer b = CP1252_BYTE.get(c);
        return b == null ? -1 : b;
    }

    private static String fixC1Controls(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            out.append(c >= 0x80 && c <= 0x9f ? CP1252[c] : c);
        }
        return out.toString();
    }

    /** Ligatures, full-width/half-width forms (NFKC of U+FF01..U+FFEF, U+3000 → space) and curly quotes. */
    private static String replaceChars(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String ligature = LIGATURES.get(c);
            if (ligature != null) {
                out.append(ligature);
            } else if (c == '\u3000') {
                out.append(' ');
            } else if (c >= '\uff01' && c <= '\uffef') {
                out.append(Normalizer.normalize(String.valueOf(c), Normalizer.Form.NFKC));
            } else if (c == '\u02bc' || (c >= '\u2018' && c <= '\u201b')) {
                out.append('\'');
            } else if (c >= '\u201c' && c <= '\u201f') {
                out.append('"');
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static String removeControlChars(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean control = (c <= 0x08) || c == 0x0b || (c >= 0x0e && c <= 0x1f) || c == 0x7f
                    || (c >= 0x206a && c <= 0x206f) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffc);
            if (!control) {
                out.append(c);
            }
        }
        return out.toString();
    }
}
