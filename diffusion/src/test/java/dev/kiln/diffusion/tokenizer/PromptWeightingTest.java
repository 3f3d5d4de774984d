package dev.kiln.diffusion.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Expected values are the examples documented with sd-scripts' / A1111's parse_prompt_attention. */
class PromptWeightingTest {

    @Test
    void plainText() {
        assertSegments(List.of(seg("normal text", 1.0)), "normal text");
        assertSegments(List.of(seg("", 1.0)), "");
    }

    @Test
    void roundBracketsIncreaseAndSquareBracketsDecrease() {
        assertSegments(List.of(seg("an ", 1.0), seg("important", 1.1), seg(" word", 1.0)), "an (important) word");
        assertSegments(List.of(seg("a ", 1.0), seg("minor", 1 / 1.1)), "a [minor]");
        assertSegments(List.of(seg("x", 1.2)), "(x:1.2)");
    }

    @Test
    void unbalancedEscapedAndMerged() {
        assertSegments(List.of(seg("unbalanced", 1.1)), "(unbalanced");
        assertSegments(List.of(seg("(literal]", 1.0)), "\\(literal\\]");
        assertSegments(List.of(seg("unnecessaryparens", 1.1)), "(unnecessary)(parens)");
        assertSegments(List.of(seg("hatsune miku (vocaloid)", 1.0)), "hatsune miku \\(vocaloid\\)");
    }

    @Test
    void nestedWeightsMultiply() {
        assertSegments(List.of(seg("a ", 1.0), seg("house", 1.5730000000000004), seg(" ", 1.1), seg("on", 1.0),
                        seg(" a ", 1.1), seg("hill", 0.55), seg(", sun, ", 1.1), seg("sky", 1.4641000000000006),
                        seg(".", 1.1)),
                "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).");
    }

    @Test
    void colonWithoutWeightIsText() {
        assertSegments(List.of(seg("score:high", 1.0)), "score:high");
        assertThrows(IllegalArgumentException.class, () -> PromptWeighting.parse("(x:1.2.3)"));
    }

    private static PromptWeighting.Segment seg(String text, double weight) {
        return new PromptWeighting.Segment(text, (float) weight);
    }

    private static void assertSegments(List<PromptWeighting.Segment> expected, String prompt) {
        assertEquals(expected, PromptWeighting.parse(prompt), prompt);
    }
}
