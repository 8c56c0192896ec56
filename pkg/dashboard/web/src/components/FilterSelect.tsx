import { useId } from "react";
import { useSearchParams } from "react-router";

/** useFilter is a filter kept in the URL (?name=), so that a filtered page
 * can be shared; changing it goes back to the first page (drops ?cursor=). */
export function useFilter(name: string): [string, (v: string) => void] {
  const [params, setParams] = useSearchParams();
  const set = (v: string) => {
    const p = new URLSearchParams(params);
    if (v) p.set(name, v);
    else p.delete(name);
    p.delete("cursor");
    setParams(p);
  };
  return [params.get(name) ?? "", set];
}

/** FilterSelect is a labelled select over the values of one URL filter;
 * "" is the choice of no filter (`any`). */
export function FilterSelect(props: {
  label: string;
  name: string;
  any: string;
  options: { value: string; label: string }[];
}) {
  const { label, name, any, options } = props;
  const [value, setValue] = useFilter(name);
  const id = useId();
  // A value from a shared address that is not among the options is still shown.
  const known = !value || options.some((o) => o.value === value);
  return (
    <label htmlFor={id}>
      {label}
      <select id={id} value={value} onChange={(e) => setValue(e.target.value)}>
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
