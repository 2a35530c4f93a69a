"""What a reader checks first in each corpus document, written from reading the PDFs.

Each document lists headings that must exist at their level, table rows (cells that
must share one row of one table), sentences that must read contiguously (across line
and page breaks), strings that must not appear (a flattened exponent, a word split by
its line-end hyphen), texts no heading may hold (an OCR layer's reading of initials),
and paragraphs: a text that must be one whole paragraph (or heading), or, ending in
``…``, the opening of one (a date line set apart from the text under it). Scripts are written ``10^20`` / ``d_k``: the scorer
reads pagewire's ``<sup>``/``<sub>`` and other engines' ``^``/``_`` spellings alike.

``known_misses`` names the expectations pagewire does not meet yet; the tests assert
every other one, so a regression fails and a fix shows up as a stale entry.
``needs_word_list`` names those met only with the system word list installed (Debian's
``wamerican``, see docs/extraction.md): without it they are known misses.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Expect:
    headings: tuple[tuple[int, str], ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    sentences: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    not_headings: tuple[str, ...] = ()
    paragraphs: tuple[str, ...] = ()
    known_misses: frozenset[str] = field(default_factory=frozenset)
    needs_word_list: frozenset[str] = field(default_factory=frozenset)


EXPECTATIONS: dict[str, Expect] = {
    "attention-is-all-you-need.pdf": Expect(
        # an author's line under the title (name, e-mail), not a heading
        not_headings=("Illia Polosukhin",),
        headings=(
            (1, "Attention Is All You Need"),
            (2, "1 Introduction"),
            (2, "3 Model Architecture"),
            (3, "3.2 Attention"),
            (4, "3.2.1 Scaled Dot-Product Attention"),
            (4, "3.2.2 Multi-Head Attention"),
            (2, "7 Conclusion"),
            (2, "Attention Visualizations"),
        ),
        rows=(
            ("Layer Type", "Complexity per Layer", "Sequential Operations", "Maximum Path Length"),
            ("Self-Attention", "O(n^2 · d)", "O(1)", "O(1)"),
            ("ConvS2S [9]", "25.16", "40.46", "9.6 · 10^18", "1.5 · 10^20"),
            ("Transformer (big)", "28.4", "41.8", "2.3 · 10^19"),
            ("Transformer (base model)", "27.3", "38.1", "3.3 · 10^18"),
            # Table 2's two-row header as one row: group label over each column's own
            (
                "Model",
                "BLEU EN-DE",
                "BLEU EN-FR",
                "Training Cost (FLOPs) EN-DE",
                "Training Cost (FLOPs) EN-FR",
            ),
            ("train steps", "PPL (dev)", "BLEU (dev)", "params \u00d710^6"),
            # Table 3's row groups: "(A)" stays with each of its rows
            ("(A)", "1", "512", "512", "5.29", "24.9"),
            ("(A)", "32", "16", "16", "5.01", "25.4"),
            ("(B)", "16", "5.16", "25.1", "58"),
            ("(C)", "2", "6.11", "23.7", "36"),
        ),
        sentences=(
            "The dominant sequence transduction models are based on complex recurrent or "
            "convolutional neural networks that include an encoder and a decoder.",
            "we compute the attention function on a set of queries simultaneously, packed "
            "together into a matrix Q.",
            "Attention(Q, K, V ) = softmax(QK^T)V",
            "divide each by √d_k, and apply a softmax function",
            "extremely small gradients^4.",
            "as well as the embedding layers, produce outputs of dimension d_model = 512.",
            # across page breaks: the titles printed over Figure 2's drawings (3 -> 4),
            # footnote 4 (4 -> 5), footnote 5 then Table 3 (8 -> 9), Table 4 (9 -> 10)
            "The output is computed as a weighted sum of the values, where the weight "
            "assigned to each value",
            "yielding d_v-dimensional output values. These are concatenated",
            "measuring the change in performance on English-to-German translation on the "
            "development set, newstest2013.",
            "During inference, we increased the maximum output length to input length + 300.",
            # a display's number after its fraction's lower row; d_model's stacked scripts
            "Attention(Q, K, V ) = softmax(QK^T)V √d_k (1)",
            "lrate = d_model^\u22120.5 · min(step_num^\u22120.5",
        ),
        absent=(
            "weighted sum Scaled Dot-Product Attention",
            "1.0 · 1020",
            "3.3 · | ",
            "softmax(QKT",
            "√ dk",
            # the attention maps' labels (pages 13-15) are figure text, not headings
            "# Input-Input",
        ),
    ),
    "bert-two-column-16p.pdf": Expect(
        headings=(
            (2, "1 Introduction"),
            # bold numbered subsections, each followed by its text on the next line
            (3, "2.1 Unsupervised Feature-based Approaches"),
            (3, "2.2 Unsupervised Fine-tuning Approaches"),
            (3, "2.3 Transfer Learning from Supervised Data"),
            (2, "3 BERT"),
            (2, "5 Ablation Studies"),
        ),
        # the authors' line under the title, with their e-mail addresses
        not_headings=("Jacob Devlin Ming-Wei Chang",),
        rows=(
            ("BERTLARGE", "86.7/85.9", "72.1", "92.7"),
            ("Tasks", "MNLI-m (Acc)", "QNLI (Acc)", "MRPC (Acc)", "SST-2 (Acc)", "SQuAD (F1)"),
            (
                "Masking Rates MASK",
                "Masking Rates SAME",
                "Masking Rates RND",
                "Dev Set Results MNLI Fine-tune",
                "Dev Set Results NER Fine-tune",
                "Dev Set Results NER Feature-based",
            ),
        ),
        sentences=(
            # a word ending in a subscript stays on its line ("BERT<sub>BASE</sub> (L=12, ...")
            "We primarily report results on two model sizes: BERT_BASE (L=12, H=768, A=12, "
            "Total Parameters=110M) and BERT_LARGE (L=24, H=1024, A=16, Total "
            "Parameters=340M).",
            "We introduce a new language representation model called BERT",
            "in OpenAI GPT, the authors use a left-to-right architecture",
            "achieved previously state-of-the-art results on many sentence-level tasks",
            "Left-to-right language modeling",
            # across page breaks: "Dev Set" over Table 5's columns (7 -> 8), footnote 15 (15 -> 16)
            "to better understand their relative importance. Additional ablation studies can "
            "be found in Appendix C.",
            "For our GLUE submission, we always predicted the majority class.",
        ),
        absent=(
            "Additional Dev Set",
            "faq jority",
            "left-toright",
            "sentencelevel",
            "taskspecific",
            "finetuning",
            "### BERT BERT",  # Figure 1's labels (page 3)
        ),
    ),
    "scotus-slip-opinion-30p.pdf": Expect(
        headings=(
            (1, "SUPREME COURT OF THE UNITED STATES"),
            (2, "TARRANT REGIONAL WATER DISTRICT v. HERRMANN ET AL."),
        ),
        sentences=(
            # footnotes broken at a page's foot, read on under the next page's text
            "Webster\u2019s Third New International Dictionary 19 (1966).",
            "(internal quotation marks omitted). The Supremacy Clause, Art. VI, cl. 2, then "
            "ensures that a congressionally approved compact",
            "borders are irrelevant for that allocation. As noted infra, at 23\u201324,",
            "Petitioner Tarrant Regional Water District (Tarrant) is a Texas state agency "
            "responsible for providing water to north-central Texas",
            "cross-border",
            # across page breaks under the page's footnotes (8 -> 9, 9 -> 10, 15 -> 16,
            # 20 -> 21, 21 -> 22, 27 -> 28)
            "the use of runoff originating in subbasin 5 and undesignated water flowing into "
            "subbasin 5, so long as the flow",
            "Subbasin 5\u2019s allocation scheme allows upstream States to keep the water",
            "equal to . . . 40 percent of the total runoff originating below the following "
            "existing, authorized or proposed last major downstream damsites in Oklahoma to "
            "flow into Arkansas.” 1 App. 23\u201324 (emphasis added).",
            "Many of these other compacts feature language that unambiguously permits "
            "signatory States to cross each other\u2019s borders",
            "If Tarrant were correct, then applicants from Arkansas, Texas, and Louisiana",
            "because the Compact leaves no waters unallocated.",
        ),
        # the docket line over the syllabus, and the syllabus's hanging-indented first
        # paragraph read whole
        paragraphs=(
            "No. 11\u2013889. Argued April 23, 2013\u2014Decided June 13, 2013",
            "The Red River Compact (or Compact) is a congressionally sanctioned agreement "
            "that allocates water rights …",
        ),
        absent=(
            "out-ofstate",
            "crossborder",
            "comments1 ",
            "Louisiana.4",
            "\u2014\u2014\u2014\u2014",  # the rule printed over the footnotes
        ),
        # "cross-" / "border" on a page that has no other "cross-border": the page's
        # vocabulary cannot tell, the word list can ("crossborder" is not a word)
        needs_word_list=frozenset({"crossborder"}),
    ),
    "ncsc-opinion-23p.pdf": Expect(
        # one bold style for every section heading: their numbering tells the levels
        headings=(
            (1, "IN THE SUPREME COURT OF NORTH CAROLINA"),
            (2, "I. Background"),
            (2, "II. Analysis"),
            (3, "A. The Predominant-Factor Test Under N.C.G.S. § 14-306.4"),
            (3, "D. Gambling"),
            (2, "III. Conclusion"),
        ),
        sentences=(
            "In Hest, this Court held that N.C.G.S. § 14-306.4 regulated conduct, with only "
            "incidental burdens on speech, and that the law was supported by a rational basis.",
            # across page breaks under the three-row running head (2 -> 3, 5 -> 6, 7 -> 8,
            # 18 -> 19)
            "The Court will inquire, not into the name, but into the game, however "
            "skillfully disguised",
            "filed the present lawsuit, seeking a declaratory judgment and preliminary and "
            "permanent injunctive relief",
            "do not amount to games whose outcomes are determined by skill and dexterity, but "
            "rather, chance.",
            "the reels did not align so that a nudge could nudge them into place",
            # a quote closed after a word, not a stop, goes on (page 9)
            "We consider plaintiffs\u2019 arguments in turn.",
            # a semicolon's clause goes on across the page break (1 -> 2)
            "for North Carolina Association of Chiefs of Police; and Jim O\u2019Neill for North "
            "Carolina Conference of District Attorneys",
        ),
        absent=("predominantfactor", "singlenudge", "determined Opinion of the Court"),
    ),
    "ca1-appeal-17p.pdf": Expect(
        headings=(
            (1, "United States Court of Appeals"),
            (3, "I. BACKGROUND"),
            (3, "II. ANALYSIS"),
            (3, "III. CONCLUSION"),
        ),
        sentences=(
            "The Governor's emergency proclamation was the first in a rapid-fire series of "
            "executive actions designed to prevent and/or slow the spread of the virus among "
            "Maine residents.",
            "in-person gatherings",
            # across page breaks under footnote 1 (6 -> 7) and footnote 2 (10 -> 11)
            "We have no transcript of that conference, but Governor Mills apparently agreed",
            "because [the Chapel] has not had time to file any opposition to the amicus motion",
            # a quoted word ends the page, not its sentence (9 -> 10)
            'To say that what happened was a "full" adversarial hearing would be like saying',
        ),
        absent=("inperson",),
        # the decision's centred date ends page 2; the opinion opens page 3
        paragraphs=(
            "December 22, 2020",
            "SELYA, Circuit Judge. This interlocutory appeal arises …",
        ),
        # "in-" is too short to tell from a syllable on the page; the word list knows both
        needs_word_list=frozenset({"inperson"}),
    ),
    "ca9-appeal-15p.pdf": Expect(
        headings=(
            (1, "IN THE UNITED STATES COURT OF APPEALS FOR THE NINTH CIRCUIT"),
            # its last words set in a slanted (synthetic italic) bold, not turned text
            (1, "MOTION TO STAY BRIEFING PENDING DECISION IN HERNANDEZ ROMAN"),
            # a bold capitals title, then the declaration's first line: two blocks
            (1, "DECLARATION OF JUDAH LAKIN"),
        ),
        not_headings=("I, Judah Lakin, declare as follows",),
        sentences=(
            "originated as a petition for a writ of habeas corpus and a class complaint for "
            "injunctive and declaratory relief",
        ),
        paragraphs=(
            # the cover's caption in order: party and role, "v.", party and role (the
            # roles sit right of the centre line, "v." over the counsel block's gutter)
            "ANGEL ZEPEDA RIVAS, et al. Plaintiffs-Appellees,",
            "DAVID JENNINGS, et al. Defendants-Appellants.",
            # page 3 opens a paragraph: page 2 ends with the centred counsel block
            "Appellees respectfully request that the Court stay further briefing …",
        ),
    ),
    "missouri-appeals-5p.pdf": Expect(
        headings=(
            (2, "Introduction"),
            (2, "Background"),
            (2, "Standard of Review"),
            (2, "Discussion"),
            # the opinion's numbered points, bold sentences set as headings below it
            (2, "I. Jagels\u2019 plea was knowing and voluntary, not coerced."),
            (2, "Conclusion"),
        ),
        sentences=(
            "Jagels seeks to convert her plea counsel\u2019s accurate description of the serious "
            "consequences and stark choice she faced into coercion. It was not.",
        ),
    ),
    "azd-order-pleading-paper-5p.pdf": Expect(
        headings=((1, "IN THE UNITED STATES DISTRICT COURT FOR THE DISTRICT OF ARIZONA"),),
        rows=(
            ("Jessica Parker v. C. R. Bard, Inc.", "2:15-cv-01739", "Ala. N.D."),
            # docket entries whose text wraps in its column: one row each, the text whole
            (
                "12/17/2015",
                "363",
                "CMO 4 re Master Complaint, Responsive Pleadings, Short Form Complaint, "
                "Waiver, and Answer",
            ),
            (
                "4/20/2016",
                "1485",
                "Second Amended CMO 4 re Master Complaint, Responsive Pleadings, Short Form "
                "Complaint, Waiver, and Answer",
            ),
            (
                "04/01/2016",
                "1319",
                "CMO 10 re Second Phase Discovery, Bellwether, ESI, FDA, Deposition, and "
                "Privilege Log",
            ),
        ),
        sentences=(
            # the caption's two sides, each read whole: parties, then number and title
            "IN RE: Bard IVC Filters Products Liability Litigation,",
            "No. MDL 15-02641-PHX-DGC SUGGESTION OF REMAND AND TRANSFER ORDER",
        ),
        absent=("# WO", "Products No. MDL"),
    ),
    "dnj-complaint-ocr-layer-59p.pdf": Expect(
        headings=(
            (2, "AMENDED COMPLAINT"),
            (3, "I. JURISDICTION AND VENUE"),
            (6, "COUNT I - Excessive Force (42 U.S.C. § 1983)"),
            (3, "V. PRAYER FOR RELIEF"),
            (3, "STATE OF NEW JERSEY"),
            (3, "MEMORANDUM OF LAW"),
        ),
        sentences=(
            "Plaintiff had worked for Defendants through their business, Joe's Painting & "
            "Renovations, and was not paid as agreed.",
            # across page breaks over the "Page N of 20" footer and the handwritten
            # initials under it (8 -> 9, 14 -> 15, 16 -> 17, 21 -> 22)
            "Such character attacks, introduced without the safeguard of cross-examination",
            # (the filing's second copy of these pages reads on already: these quote the first)
            'to drop the crowbar, to which he complied." This is',
            "or it was destroyed despite mandatory retention N.J. Ct. Rs",
            "is defined as a temporary loss of bodily function or impairment (NJ. STAT.",
            # a bold run that the sentence carries on into (15, 16)
            "complied with orders to drop the crowbar, confirming no purposeful or knowing "
            "attempt to use a weapon. The complainant's injury",
            "Vacatur is therefore mandated under N.J. Ct. R. 3:21-1.",
        ),
        # the OCR layer's reading of handwritten initials and signatures
        not_headings=(
            "dTb",
            "dTh",
            "d1b",
            "Jl-b",
            "JTb",
            "Jib",
            "Jfb",
            "d'Tu-",
            "Dedlon",
            "7b}er",
            "De.voa",
            "Date~",
            "Devo,i",
            "/af,/<J",
            "A#.l<",
        ),
    ),
}
