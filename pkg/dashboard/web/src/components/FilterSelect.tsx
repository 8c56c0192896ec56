import { useId } from "react";
import { useFilters } from "./FilterParams";

/** FilterSelect is a labelled select over the values of one filter kept
 * in the URL (useFilters); "" is the choice of no filter (`any`). */
export function FilterSelect(props: {
  label: string;
  name: string;
  any: string;
  options: { value: string; label: string }[];
}) {
  const { label, name, any, options } = props;
  const [params, set] = useFilters();
  const value = params.get(name) ?? "";
  const id = useId();
  // A value from a shared address that is not among the options is still shown.
  const known = !value || options.some((o) => o.value === value);
  return (
    <label htmlFor={id}>
      {label}
      <select id={id} value={value} onChange={(e) => set({ [name]: e.target.value })}>
        <option value="">{any}</option>
        {known ? null : <option value={value}>{value}</option>}
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}
