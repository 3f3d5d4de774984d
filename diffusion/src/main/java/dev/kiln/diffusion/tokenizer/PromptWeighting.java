package dev.kiln.diffusion.tokenizer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The A1111 / sd-scripts attention syntax ({@code parse_prompt_attention}): {@code (x)} ×1.1, {@code [x]} ÷1.1,
 * {@code (x:1.3)} ×1.3, nesting multiplies, unclosed brackets apply to the end, {@code \( \) \[ \] \\} are literals,
 * and neighbouring runs of equal weight are merged.
 */
public final class PromptWeighting {

    /** A run of prompt text and its attention weight. */
    public record Segment(String text, float weight) {
    }

    private static final Pattern ATTENTION = Pattern.compile(
            "\\\\\\(|\\\\\\)|\\\\\\[|\\\\]|\\\\\\\\|\\\\|\\(|\\[|:([+-]?[.\\d]+)\\)|\\)|]|[^\\\\()\\[\\]:]+|:");
    private static final double ROUND_MULTIPLIER = 1.1;
    private static final double SQUARE_MULTIPLIER = 1 / 1.1;

    private PromptWeighting() {
    }

    /** Parses {@code prompt} into weighted runs; an empty prompt gives one empty run of weight 1. */
    public static List<Segment> parse(String prompt) {
        // weights are multiplied in double, as Python does, and rounded to float at the end
        List<String> texts = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        Deque<Integer> round = new ArrayDeque<>();
        Deque<Integer> square = new ArrayDeque<>();
        Matcher m = ATTENTION.matcher(prompt);
        while (m.find()) {
            String token = m.group();
            String weight = m.group(1);
            if (token.startsWith("\\")) {
                texts.add(token.substring(1));
                weights.add(1.0);
            } else if (token.equals("(")) {
                round.push(texts.size());
            } else if (token.equals("[")) {
                square.push(texts.size());
            } else if (weight != null && !round.isEmpty()) {
                multiply(weights, round.pop(), parseWeight(weight, prompt));
            } else if (token.equals(")") && !round.isEmpty()) {
                multiply(weights, round.pop(), ROUND_MULTIPLIER);
            } else if (token.equals("]") && !square.isEmpty()) {
                multiply(weights, square.pop(), SQUARE_MULTIPLIER);
            } else {
                texts.add(token);
                weights.add(1.0);
            }
        }
        // unclosed brackets, innermost first as Python iterates its list from the bottom: order does not matter
        for (int start : round) {
            multiply(weights, start, ROUND_MULTIPLIER);
        }
        for (int start : square) {
            multiply(weights, start, SQUARE_MULTIPLIER);
        }
        if (texts.isEmpty()) {
            return List.of(new Segment("", 1f));
        }
        List<Segment> merged = new ArrayList<>();
        StringBuilder text = new StringBuilder(texts.get(0));
        double current = weights.get(0);
        for (int i = 1; i < texts.size(); i++) {
            if (weights.get(i) == current) {
                text.append(texts.get(i));
            } else {
                merged.add(new Segment(text.toString(), (float) current));
                text = new StringBuilder(texts.get(i));
                current = weights.get(i);
            }
        }
        merged.add(new Segment(text.toString(), (float) current));
        return merged;
    }

    private static void multiply(List<Double> weights, int from, double multiplier) {
        for (int i = from; i < weights.size(); i++) {
            weights.set(i, weights.get(i) * multiplier);
        }
    }

    private static double parseWeight(String weight, String prompt) {
        try {
            return Double.parseDouble(weight);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid attention weight \"" + weight + "\" in prompt: " + prompt);
        }
    }
}
