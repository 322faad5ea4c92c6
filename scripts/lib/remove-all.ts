// MDAD's /matrix/bin/remove-all (roles/custom/matrix-base/templates/bin/remove-all.j2).

/** The line MDAD's remove-all reads before it does anything. */
export const CONFIRMATION = 'Yes, I really want to remove everything!';
