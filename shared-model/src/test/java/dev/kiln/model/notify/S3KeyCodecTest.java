package dev.kiln.model.notify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class S3KeyCodecTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "datasets%2Fcats%2F10_sks+cat%2Fa.png | datasets/cats/10_sks cat/a.png",
            "datasets/cats/10_sks%20cat/a.png     | datasets/cats/10_sks cat/a.png",
            "a%2Bb.png                            | a+b.png",
            "%E7%8C%AB%2F%E5%86%99%E7%9C%9F.jpg   | 猫/写真.jpg",
            "%F0%9F%90%88.png                     | \uD83D\uDC08.png",
            "x%2520y.png                          | x%20y.png",
            "x%252520y.png                        | x%2520y.png",
            "lower%c3%a9.png                      | loweré.png",
    })
    void decodesOnce(String encoded, String decoded) {
        assertEquals(decoded, S3KeyCodec.decode(encoded));
    }

    // Expected values are what Go's url.QueryEscape returns for these inputs.
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "'a b/c+d~e*f'           | a+b%2Fc%2Bd~e%2Af",
            "'datasets/x/1_y z/é.png' | datasets%2Fx%2F1_y+z%2F%C3%A9.png",
            "'A-Z_a.z~0;,?:@&=$!''()' | A-Z_a.z~0%3B%2C%3F%3A%40%26%3D%24%21%27%28%29",
            "'100%'                  | 100%25",
    })
    void encodesLikeGoQueryEscape(String key, String expected) {
        assertEquals(expected, S3KeyCodec.encode(key));
    }

    @Test
    void roundTripHoldsForArbitraryKeys() {
        Random random = new Random(20260114);
        String alphabet = "ab Z09-_.~+%/&=?#\"'<>[]{}|^`éß猫ねこ\uD83D\uDC08\t";
        for (int n = 0; n < 2000; n++) {
            StringBuilder key = new StringBuilder();
            int len = 1 + random.nextInt(40);
            while (key.length() < len) {
                int cp = alphabet.codePointAt(alphabet.offsetByCodePoints(0,
                        random.nextInt(alphabet.codePointCount(0, alphabet.length()))));
                key.appendCodePoint(cp);
            }
            String k = key.toString();
            String encoded = S3KeyCodec.encode(k);
            assertTrue(encoded.chars().allMatch(c -> c < 0x80 && c != ' ' && c != '/'), encoded);
            assertEquals(k, S3KeyCodec.decode(encoded), () -> "encoded as " + encoded);
        }
    }

    @ParameterizedTest
    @CsvSource({"bad%2", "bad%zz.png", "trailing%", "notutf8%FF.png", "overlong%C0%AF.png"})
    void rejectsMalformedEscapesNamingTheKey(String encoded) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> S3KeyCodec.decode(encoded));
        assertTrue(e.getMessage().contains(encoded), e.getMessage());
    }

    @Test
    void rejectsLoneSurrogateWhenEncoding() {
        assertThrows(IllegalArgumentException.class, () -> S3KeyCodec.encode("a\uD800b"));
    }
}
