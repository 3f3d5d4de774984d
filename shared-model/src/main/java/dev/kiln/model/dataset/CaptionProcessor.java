package dev.kiln.model.dataset;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The per-sample caption processing of sd-scripts (train_util.py BaseDataset.process_caption), in its order:
 * prefix/suffix, caption dropout, line choice and wildcards, token split (keep_tokens or keep_tokens_separator),
 * token warm-up, shuffle, tag dropout, re-join with ", ", secondary separator, replacements. Randomness comes from
 * the caller's seeded generator, so results are reproducible in Kiln but not equal to Python's Mersenne Twister.
 */
public final class CaptionProcessor {
    private static final Pattern WILDCARD = Pattern.compile("\\{([^}]+)\\}");

    private CaptionProcessor() {}

    /**
     * Where training stands when the sample is built.
     *
     * @param epoch the dataset's current epoch (1-based while training)
     * @param step the global optimizer step
     * @param maxTrainSteps the run's total steps (token_warmup_step below 1 is a fraction of it)
     */
    public record Progress(int epoch, long step, long maxTrainSteps) {}

    /** Processes one stored caption for one sample; {@code replacements} is Textual Inversion's (may be empty). */
    public static String process(SubsetParams subset, String caption, Progress progress, RandomGenerator random,
            Map<String, List<String>> replacements) {
        if (subset.captionPrefix() != null && !subset.captionPrefix().isEmpty()) {
            caption = subset.captionPrefix() + " " + caption;
        }
        if (subset.captionSuffix() != null && !subset.captionSuffix().isEmpty()) {
            caption = caption + " " + subset.captionSuffix();
        }
        // random() is drawn only when the rate is positive, as in sd-scripts
        boolean drop = subset.captionDropoutRate() > 0 && random.nextDouble() < subset.captionDropoutRate();
        drop = drop || (subset.captionDropoutEveryNEpochs() > 0
                && Math.floorMod(progress.epoch(), subset.captionDropoutEveryNEpochs()) == 0);
        if (drop) {
            return "";
        }
        caption = subset.enableWildcard() ? expandWildcards(caption, random) : Py.split(caption, "\n").get(0);

        double warmupStep = effectiveWarmupStep(subset.tokenWarmupStep(), progress.maxTrainSteps());
        if (subset.shuffleCaption() || warmupStep > 0 || subset.captionTagDropoutRate() > 0) {
            caption = processTokens(subset, caption, warmupStep, progress.step(), random);
        }
        if (subset.secondarySeparator() != null && !subset.secondarySeparator().isEmpty()) {
            caption = caption.replace(subset.secondarySeparator(), subset.captionSeparator());
        }
        for (Map.Entry<String, List<String>> r : replacements.entrySet()) {
            List<String> to = r.getValue();
            if (r.getKey().isEmpty()) {
                caption = to.size() == 1 ? to.get(0) : to.get(random.nextInt(to.size()));
            } else {
                caption = caption.replace(r.getKey(), to.get(0));
            }
        }
        return caption;
    }

    /** sd-scripts replaces a token_warmup_step below 1 by floor(step × max_train_steps) on first use. */
    static double effectiveWarmupStep(double tokenWarmupStep, long maxTrainSteps) {
        return tokenWarmupStep < 1 ? Math.floor(tokenWarmupStep * maxTrainSteps) : tokenWarmupStep;
    }

    private static String expandWildcards(String caption, RandomGenerator random) {
        if (caption.contains("\n")) {
            List<String> lines = Py.split(caption, "\n");
            caption = lines.get(random.nextInt(lines.size()));
        }
        // escape {{ and }} with markers that do not occur in the caption
        String open = "⦅";
        String close = "⦆";
        while (caption.contains(open) || caption.contains(close)) {
            open += "⦅";
            close += "⦆";
        }
        caption = caption.replace("{{", open).replace("}}", close);
        Matcher m = WILDCARD.matcher(caption);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            List<String> options = Py.split(m.group(1), "|");
            m.appendReplacement(out, Matcher.quoteReplacement(options.get(random.nextInt(options.size()))));
        }
        m.appendTail(out);
        return out.toString().replace(open, "{").replace(close, "}");
    }

    private static String processTokens(SubsetParams subset, String caption, double warmupStep, long step,
            RandomGenerator random) {
        String sep = subset.captionSeparator();
        String keepSep = subset.keepTokensSeparator();
        List<String> fixed = new ArrayList<>();
        List<String> flex;
        List<String> fixedSuffix = new ArrayList<>();
        int at = keepSep == null || keepSep.isEmpty() ? -1 : caption.indexOf(keepSep);
        if (at >= 0) {
            String fixedPart = caption.substring(0, at);
            String flexPart = caption.substring(at + keepSep.length());
            int second = flexPart.indexOf(keepSep);
            if (second >= 0) {
                fixedSuffix = nonEmptyTokens(flexPart.substring(second + keepSep.length()), sep);
                flexPart = flexPart.substring(0, second);
            }
            fixed = nonEmptyTokens(fixedPart, sep);
            flex = nonEmptyTokens(flexPart, sep);
        } else {
            List<String> tokens = new ArrayList<>();
            for (String t : Py.split(Py.strip(caption), sep)) {
                tokens.add(Py.strip(t)); // empty tokens are kept on this path
            }
            int keep = subset.keepTokens();
            if (keep > 0) {
                fixed = new ArrayList<>(tokens.subList(0, Math.min(keep, tokens.size())));
                flex = new ArrayList<>(tokens.subList(Math.min(keep, tokens.size()), tokens.size()));
            } else {
                flex = tokens;
            }
        }
        if (warmupStep != 0 && step < warmupStep) {
            int n = (int) Math.floor(step * ((flex.size() - subset.tokenWarmupMin()) / warmupStep))
                    + subset.tokenWarmupMin();
            flex = slice(flex, n);
        }
        if (subset.shuffleCaption()) {
            shuffle(flex, random);
        }
        if (subset.captionTagDropoutRate() > 0) {
            List<String> kept = new ArrayList<>();
            for (String token : flex) {
                if (random.nextDouble() >= subset.captionTagDropoutRate()) {
                    kept.add(token);
                }
            }
            flex = kept;
        }
        List<String> all = new ArrayList<>(fixed);
        all.addAll(flex);
        all.addAll(fixedSuffix);
        return String.join(", ", all);
    }

    private static List<String> nonEmptyTokens(String part, String sep) {
        List<String> out = new ArrayList<>();
        for (String t : Py.split(part, sep)) {
            String s = Py.strip(t);
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return out;
    }

    /** Python {@code list[:n]}, including negative n (counted from the end). */
    private static List<String> slice(List<String> list, int n) {
        int end = n >= 0 ? Math.min(n, list.size()) : Math.max(0, list.size() + n);
        return new ArrayList<>(list.subList(0, end));
    }

    /** Fisher-Yates from the end, as Python's random.shuffle. */
    static <T> void shuffle(List<T> list, RandomGenerator random) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            T tmp = list.get(i);
            list.set(i, list.get(j));
            list.set(j, tmp);
        }
    }
}
