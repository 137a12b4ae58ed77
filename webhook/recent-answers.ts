// This replica's answers to recent pod creations, by AdmissionReview uid. The API
// server retries a webhook call that failed in transit (connection reset, EOF) with
// the same review; had the first call already claimed addresses, answering the retry
// afresh would claim a second set and leave the first to the orphan TTL. A retry
// while the first call still runs waits for it. Only answers that bind are kept: a
// denial or an error is worth deciding again.
import type { AdmissionDecision } from './admission-review.js';

export class RecentAnswers {
  private readonly answers = new Map<string, { until: number; answer: Promise<AdmissionDecision> }>();
  // The API server retries within one call's timeout (10 s at most for our webhooks).
  constructor(private readonly holdMs = 15_000) {}

  answer(uid: string, decide: () => Promise<AdmissionDecision>): Promise<AdmissionDecision> {
    const now = Date.now();
    // Entries expire in insertion order: drop the stale ones from the front.
    for (const [key, entry] of this.answers) {
      if (entry.until >= now) break;
      this.answers.delete(key);
    }
    const known = this.answers.get(uid);
    if (known) return known.answer;
    const answer = decide();
    this.answers.set(uid, { until: now + this.holdMs, answer });
    const forget = () => this.answers.delete(uid);
    answer.then((decision) => {
      if (!decision.allowed || !decision.patch?.length) forget();
    }, forget);
    return answer;
  }
}
